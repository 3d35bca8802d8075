/**
 * The one place the UI renders HTML: an activity's body, which the server sanitises (nh3) when it is saved.
 * Everything else a user typed is rendered as text.
 */
export function ActivityBody({ html, className }: { html: string; className?: string }) {
  return <div className={`rich ${className ?? ""}`} dangerouslySetInnerHTML={{ __html: html }} />;
}
