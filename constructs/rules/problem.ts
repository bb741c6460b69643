/** One thing wrong with the model: where (construct path), which field, and why. */
export interface Problem {
  readonly path: string;
  readonly field: string;
  readonly message: string;
}

/** A model that cannot be rendered safely; lists every problem at once. */
export class ValidationError extends Error {
  constructor(readonly problems: readonly Problem[]) {
    super(`Invalid supervisord model:\n${problems.map(formatProblem).join("\n")}`);
    this.name = "ValidationError";
  }
}

export function formatProblem(p: Problem): string {
  return `[${p.path}] ${p.field}: ${p.message}`;
}

/** Shows a user value in an error without letting it break the message. */
export function describe(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
}
