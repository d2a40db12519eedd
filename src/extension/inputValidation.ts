import { errorMessage } from '../core';

/** An InputBox validator from a parser: its error message, or undefined when it accepts the value. */
export function validateWith(parse: (value: string) => unknown): (value: string) => string | undefined {
  return (value) => {
    try {
      parse(value);
      return undefined;
    } catch (error) {
      return errorMessage(error);
    }
  };
}
