// Uses the generated types the way a client does; none is written here (build/api.d.ts is generated).
import type { components, paths } from "./build/api";

type Task = components["schemas"]["Task"];
type TaskList = paths["/api/v1/tasks/"]["get"]["responses"][200]["content"]["application/json"];
type ApiError = components["schemas"]["Error"];

export function titles(page: TaskList): string[] {
  return page.results.map((task: Task) => task.title);
}

export function firstMessage(error: ApiError): string {
  const messages = Object.values(error.errors ?? {})[0];
  return messages?.[0] ?? error.detail;
}
