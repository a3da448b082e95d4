// Times and durations as people read them; exact values go in titles.

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 365 * 24 * 3600e3],
  ['month', 30 * 24 * 3600e3],
  ['week', 7 * 24 * 3600e3],
  ['day', 24 * 3600e3],
  ['hour', 3600e3],
  ['minute', 60e3],
  ['second', 1e3],
];

const relative = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });

export function relativeTime(iso: string, now: number = Date.now()): string {
  const diff = Date.parse(iso) - now;
  if (Math.abs(diff) < 5e3) {
    return 'just now';
  }
  // A unit applies from where the next smaller one would round up to it, so 59 min 50 s
  // is "in 1 hour", not "in 60 minutes".
  for (let i = 0; i < UNITS.length; i++) {
    const [unit, ms] = UNITS[i];
    const smaller = i + 1 < UNITS.length ? UNITS[i + 1][1] : 0;
    if (Math.abs(diff) >= ms - smaller / 2 || unit === 'second') {
      return relative.format(Math.round(diff / ms), unit);
    }
  }
  return iso;
}

const exact = new Intl.DateTimeFormat('en', {
  dateStyle: 'medium',
  timeStyle: 'medium',
});

export function exactTime(iso: string): string {
  const d = new Date(iso);
  return `${exact.format(d)} (${iso})`;
}

export function duration(ms: number): string {
  if (ms < 0) {
    ms = 0;
  }
  if (ms < 1000) {
    return `${Math.round(ms)} ms`;
  }
  const s = ms / 1000;
  if (s < 60) {
    return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  }
  const total = Math.round(s);
  const d = Math.floor(total / 86400);
  const h = Math.floor((total % 86400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  const parts = d ? [`${d} d`, `${h} h`] : h ? [`${h} h`, `${m} min`] : [`${m} min`, `${sec} s`];
  return parts.join(' ');
}

// From `from` to `to` (or to now while it is still going).
export function between(from?: string | null, to?: string | null): string | null {
  if (!from) {
    return null;
  }
  const end = to ? Date.parse(to) : Date.now();
  return duration(end - Date.parse(from));
}

export function title(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1).replace(/_/g, ' ');
}

// The time has come (a due date that is now or earlier).
export function isPast(iso: string): boolean {
  return Date.parse(iso) <= Date.now();
}

// What is left until `iso` ("3 h 12 min left"); null once it has come.
export function timeLeft(iso: string, now: number = Date.now()): string | null {
  const ms = Date.parse(iso) - now;
  return ms > 0 ? `${duration(ms)} left` : null;
}
