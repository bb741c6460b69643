import type { InstanceRule } from "./checks";

/** Values must be plain text known at synth: no cdktf token in any prop of the instance or its programs. */
export const inputRule: InstanceRule = (m) => [...m.inputProblems, ...m.services.flatMap((s) => s.inputProblems)];
