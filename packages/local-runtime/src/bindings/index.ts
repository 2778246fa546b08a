/**
 * Output bindings the local runtime carries out after a function returns, as the host does before it reports
 * the invocation complete: a failing binding fails the invocation (so an activity's SMS that Twilio refused
 * fails the activity, as in Azure).
 */
import type { RegisteredFunction } from '../host/core-api';
import type { RpcInvocationResponse, RpcTypedData } from '../host/rpc-types';
import type { AppSettings } from './binding-values';
import { BindingError, typedDataToBytes, typedDataToJson } from './binding-values';
import { BLOB_BINDING_TYPE, StorageBlobOutput } from './storage-blob';
import { TWILIO_SMS_BINDING_TYPE, TwilioSmsOutput } from './twilio-sms';

export { BindingError, bindingDataFromJson } from './binding-values';

/** Output binding types (lower case) this runtime carries out; the host warns about any other. */
export const SUPPORTED_OUTPUT_BINDING_TYPES: readonly string[] = [
  TWILIO_SMS_BINDING_TYPE,
  BLOB_BINDING_TYPE,
];

export class OutputBindings {
  private readonly twilioSms: TwilioSmsOutput;
  private readonly blob: StorageBlobOutput;

  constructor(
    settings: () => AppSettings,
    private readonly now: () => Date,
  ) {
    this.twilioSms = new TwilioSmsOutput(settings);
    this.blob = new StorageBlobOutput(settings);
  }

  /** True when `fn` has an output binding this runtime carries out. */
  handles(fn: RegisteredFunction): boolean {
    return Object.values(fn.metadata.bindings).some(
      (b) => b.direction === 'out' && SUPPORTED_OUTPUT_BINDING_TYPES.includes(b.type.toLowerCase()),
    );
  }

  /**
   * Carries out the supported output bindings of one invocation's response, in registration order.
   * `bindingData` holds the trigger's values for `{name}` expressions.
   */
  async apply(
    fn: RegisteredFunction,
    response: RpcInvocationResponse,
    bindingData: Readonly<Record<string, unknown>>,
  ): Promise<void> {
    for (const [name, binding] of Object.entries(fn.metadata.bindings)) {
      const type = binding.type.toLowerCase();
      if (binding.direction !== 'out' || !SUPPORTED_OUTPUT_BINDING_TYPES.includes(type)) continue;
      const data: RpcTypedData | null | undefined =
        name === '$return'
          ? response.returnValue
          : response.outputData?.find((o) => o.name === name)?.data;
      // Nothing set: the host writes nothing either.
      if (!data || Object.keys(data).length === 0) continue;
      if (type === TWILIO_SMS_BINDING_TYPE) {
        const value = typedDataToJson(data);
        if (value === undefined) {
          throw new BindingError(`The twilioSms output '${name}' needs a message object.`);
        }
        await this.twilioSms.send(name, binding, value);
      } else {
        const content = typedDataToBytes(data);
        if (content === undefined) {
          throw new BindingError(`The blob output '${name}' got a value it cannot write.`);
        }
        await this.blob.write(name, binding, content, bindingData, this.now());
      }
    }
  }
}
