/** Saved list views (`/api/v1/saved-views`): mine and those shared with my team. */
import { useQuery } from "@tanstack/react-query";
import { api, qs } from "./api";
import type { SavedView, Team } from "./types";

export function savedViewsQuery(object: string) {
  return {
    queryKey: ["saved-views", object],
    queryFn: () => api<SavedView[]>(`/api/v1/saved-views${qs({ object })}`),
    staleTime: 60_000,
  };
}

export function useSavedViews(object: string) {
  return useQuery({ ...savedViewsQuery(object), enabled: !!object });
}

export const teamsQuery = { queryKey: ["teams"], queryFn: () => api<Team[]>("/api/v1/teams"), staleTime: 60_000 };
