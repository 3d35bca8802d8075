import { useEffect } from "react";
import { Link } from "react-router";

export function NotFound({ what }: { what?: string }) {
  useEffect(() => {
    document.title = "Not found · Sextant";
  }, []);
  return (
    <section className="not-found" aria-labelledby="nf-title">
      <h1 id="nf-title">Not found</h1>
      <p>
        {what ?? "This page"} does not exist, was deleted, or you do not have access to it.
      </p>
      <p>
        <Link to="/" className="btn">
          Go to My day
        </Link>
      </p>
    </section>
  );
}
