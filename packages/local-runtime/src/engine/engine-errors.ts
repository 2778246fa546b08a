import type { RuntimeStatus } from '../store/sqlite-store';

/** The instance already exists and is not in a state that can be overwritten. */
export class InstanceExistsError extends Error {
  constructor(instanceId: string, status: RuntimeStatus) {
    super(
      `An orchestration with instance ID '${instanceId}' already exists and is in the '${status}' state.`,
    );
    this.name = 'InstanceExistsError';
  }
}

/** An operation is not valid in the instance's current state (the extension answers 500). */
export class InvalidInstanceStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidInstanceStateError';
  }
}
