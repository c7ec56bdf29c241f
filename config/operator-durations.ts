import { checkDuration, Duration } from '../constructs/nomad/duration';
import { OperatorInputError } from './operator-inputs';

// Apart from operator-inputs.ts, which the read commands load: the duration rule brings cdktf in.
/**
 * A duration an operator typed (`--timeout 30m`), in Nomad's notation like config's durations and
 * by the same rule; anything else is refused, naming where it was given.
 */
export function durationWord(name: string, value: string): Duration {
  const broken = checkDuration(value);
  if (broken) throw new OperatorInputError(`${name}: '${value}' ${broken}`);
  return Duration.parse(value);
}

export type { Duration };
