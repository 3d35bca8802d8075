"""Analytics: reports, dashboards, KPIs, sales forecasting, and explainable lead and win scores."""
