/**
 * The problems mountgate's parser names for an annotation value, written as the Python kit's text_problems
 * writes them (clients/python): an entry's problem without the annotation's own field in front
 * (`[0].hostPath: is required`), a problem of the whole value as "the annotation" and the message
 * (`the annotation must be a JSON array of mounts`), since a kit user has no Pod field to read it against.
 */
import { parseAnnotation } from '../../src/admission/annotation.js';
import { FIELD } from './pods.js';

export function kitWordedProblems(value: string): string[] {
  return parseAnnotation(value, FIELD).violations.map(({ field, message }) => {
    if (field === FIELD) return `the annotation ${message}`;
    // Anything else would not be the annotation's: the kit could never name it.
    if (!field.startsWith(FIELD)) throw new Error(`a problem outside the annotation: ${field}: ${message}`);
    return `${field.slice(FIELD.length)}: ${message}`;
  });
}
