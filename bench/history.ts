// What a benchmark reads from a workflow's history: its size, the span of its activities, and when its
// timers fired.
import type { temporal } from '@temporalio/proto';

type History = temporal.api.history.v1.IHistory;
type Event = temporal.api.history.v1.IHistoryEvent;

/** Milliseconds since the epoch of an event. */
export function eventMs(e: Event): number {
  const t = e.eventTime;
  return t ? Number(t.seconds ?? 0) * 1000 + Math.round((t.nanos ?? 0) / 1e6) : 0;
}

/**
 * From the first scheduling of any of `types` to the last completion of any of them, in milliseconds;
 * undefined when none completed.
 */
export function activitySpanMs(history: History, types: readonly string[]): number | undefined {
  const events = history.events ?? [];
  const scheduled = new Map<string, string>();
  let first: number | undefined;
  let last: number | undefined;
  for (const e of events) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s && types.includes(s.activityType?.name ?? '')) {
      scheduled.set(String(e.eventId), s.activityType!.name!);
      first ??= eventMs(e);
    }
    const c = e.activityTaskCompletedEventAttributes;
    if (c && scheduled.has(String(c.scheduledEventId))) last = eventMs(e);
  }
  return first !== undefined && last !== undefined ? last - first : undefined;
}

/** The first event's time: when the workflow started. */
export const startedMs = (history: History) => eventMs((history.events ?? [])[0] ?? {});

export interface FiredTimer {
  summary: string;
  firedMs: number;
}

/** Timers that fired, with the summary the workflow gave them (their user metadata). */
export function firedTimers(history: History): FiredTimer[] {
  const summaries = new Map<string, string>();
  const fired: FiredTimer[] = [];
  for (const e of history.events ?? []) {
    const started = e.timerStartedEventAttributes;
    if (started?.timerId) summaries.set(started.timerId, decodeSummary(e));
    const f = e.timerFiredEventAttributes;
    if (f?.timerId) fired.push({ summary: summaries.get(f.timerId) ?? '', firedMs: eventMs(e) });
  }
  return fired;
}

function decodeSummary(e: Event): string {
  const data = e.userMetadata?.summary?.data;
  if (!data) return '';
  try {
    const value: unknown = JSON.parse(Buffer.from(data).toString('utf8'));
    return typeof value === 'string' ? value : '';
  } catch {
    return '';
  }
}

/**
 * For each timer-driven traffic step ("weight 25% -> 50% in 2s"), the time from the timer firing to the
 * first sample of the router showing the new weight.
 */
export function stepApplyDelays(history: History, samples: readonly [number, number][]): number[] {
  const delays: number[] = [];
  const timers = firedTimers(history);
  for (const [i, timer] of timers.entries()) {
    // A paused wait is several timers with one summary: the step follows the last of them.
    if (timers[i + 1]?.summary === timer.summary) continue;
    const next = /^weight \d+% -> (\d+)%/.exec(timer.summary);
    if (!next) continue;
    const weight = Number(next[1]);
    const seen = samples.find(([t, w]) => t >= timer.firedMs && w === weight);
    if (seen) delays.push(seen[0] - timer.firedMs);
  }
  return delays;
}

export interface ActivityRun {
  type: string;
  summary: string;
  seconds: number;
}

/** Each completed activity of these types with its summary and its time from scheduling to completion. */
export function activityRuns(history: History, types: readonly string[]): ActivityRun[] {
  const scheduled = new Map<string, { type: string; summary: string; at: number }>();
  const runs: ActivityRun[] = [];
  for (const e of history.events ?? []) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s && types.includes(s.activityType?.name ?? '')) scheduled.set(String(e.eventId), { type: s.activityType!.name!, summary: decodeSummary(e), at: eventMs(e) });
    const c = e.activityTaskCompletedEventAttributes;
    const start = c ? scheduled.get(String(c.scheduledEventId)) : undefined;
    if (start) runs.push({ type: start.type, summary: start.summary, seconds: (eventMs(e) - start.at) / 1000 });
  }
  return runs;
}
