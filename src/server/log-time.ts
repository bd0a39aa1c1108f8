/**
 * The `time` field of each log line, as pino's isoTime writes it
 * (`,"time":"2026-12-05T08:00:00.123Z"`), but with the date and time of day
 * formatted once per second: Date#toISOString on every line was about 1.4% of
 * the instructions the server spends on a review.
 */
export type LogTime = () => string;

/** `now` is injectable so that tests can walk the clock; the server passes Date.now. */
export function isoLogTime(now: () => number = Date.now): LogTime {
  let second = Number.NaN;
  let prefix = '';
  return () => {
    // Whole milliseconds, as a Date keeps them (it truncates toward zero).
    const millis = Math.trunc(now());
    const start = millis - (((millis % 1000) + 1000) % 1000);
    if (start !== second) {
      // "YYYY-MM-DDTHH:MM:SS." (or "+YYYYYY-..." past year 9999): everything but the milliseconds and the Z.
      const iso = new Date(start).toISOString();
      prefix = `,"time":"${iso.slice(0, -4)}`;
      second = start;
    }
    const fraction = millis - start;
    return `${prefix}${fraction < 10 ? '00' : fraction < 100 ? '0' : ''}${fraction}Z"`;
  };
}
