import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, ApiError, errorMessage, ifMatch } from "../lib/api";
import type { Rec } from "../lib/types";

/** A checkbox that completes a task (PATCH status=done with the version the user saw). */
export function TaskCheck({
  task,
  disabled,
  onDone,
  onError,
}: {
  task: Rec;
  disabled?: boolean;
  onDone?: (t: Rec) => void;
  onError?: (message: string) => void;
}) {
  const qc = useQueryClient();
  const [checked, setChecked] = useState(task.status === "done");
  const title = String(task.title ?? `Task #${task.id}`);
  const done = useMutation({
    mutationFn: (next: boolean) =>
      api<Rec>(`/api/v1/tasks/${task.id}`, {
        method: "PATCH",
        body: { status: next ? "done" : "open" },
        headers: ifMatch(task.version),
      }),
    onSuccess: (t) => {
      onDone?.(t);
      qc.invalidateQueries({ queryKey: ["my-day"] });
      qc.invalidateQueries({ queryKey: ["timeline"] });
      qc.invalidateQueries({ queryKey: ["list", "tasks"] });
    },
    onError: (err) => {
      setChecked(task.status === "done");
      const msg =
        err instanceof ApiError && err.status === 409
          ? `“${title}” was changed by someone else; the list has been reloaded.`
          : `Could not update “${title}”: ${errorMessage(err)}`;
      onError?.(msg);
      qc.invalidateQueries({ queryKey: ["my-day"] });
      qc.invalidateQueries({ queryKey: ["timeline"] });
    },
  });
  return (
    <input
      type="checkbox"
      className="task-check"
      checked={checked}
      disabled={disabled || done.isPending}
      aria-label={`Mark “${title}” as ${checked ? "not done" : "done"}`}
      onChange={(e) => {
        setChecked(e.target.checked);
        done.mutate(e.target.checked);
      }}
    />
  );
}
