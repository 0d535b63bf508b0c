import { useEffect, useState } from 'preact/hooks';
import { ApiError, get, post } from '../api';
import { Failure, Loading } from '../components/states';
import type { Directory } from '../directory';
import { useSession } from '../session';
import type { Call } from '../types';

// The shapes of /api/v2/calls/{id}/transcription, /summary and /rating.
interface Segment {
  channel: 0 | 1;
  start: number;
  end: number;
  text: string;
}
interface Transcription {
  speech_state: 'speech_sent_to_recognition' | 'speech_recognized' | 'speech_recognition_failed';
  payload: Segment[];
  error?: string;
}
type JobStatus = 'pending' | 'done' | 'failed';
interface Summary {
  status: JobStatus;
  summary: string | null;
  error?: string;
}
interface Rating {
  status: JobStatus;
  overall_score: number | null;
  criteria_scores: Array<{ name: string; score: number; feedback: string }>;
  highlights: string[];
  improvements: string[];
  error?: string;
}

/** How often a pending transcript, summary or rating is asked for again. */
const POLL_MS = 1000;

/** What the transcript panel shows: nothing asked yet, the work under way, done, failed, or why it cannot be. */
type View =
  | { kind: 'loading' }
  | { kind: 'none' }
  | { kind: 'pending' }
  | { kind: 'done'; segments: Segment[] }
  | { kind: 'failed'; reason: string }
  | { kind: 'no-recording' }
  | { kind: 'off' }
  | { kind: 'error'; error: unknown };

function viewOf(t: Transcription): View {
  if (t.speech_state === 'speech_recognized') return { kind: 'done', segments: t.payload };
  if (t.speech_state === 'speech_recognition_failed') return { kind: 'failed', reason: t.error ?? 'no reason given' };
  return { kind: 'pending' };
}

/** Null for "never asked for" (the API's 404 on a call that exists). */
async function fetchOrNone<T>(path: string, signal?: AbortSignal): Promise<T | null> {
  try {
    return (await get<T>(path, undefined, signal)).data;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

/** Asks for `path` now and again while `pending(answer)` holds; the latest answer goes to `onAnswer`. */
function usePolled<T>(path: string | null, pending: (answer: T | null) => boolean, onAnswer: (answer: T | null) => void, onError: (error: unknown) => void, round: number) {
  useEffect(() => {
    if (!path) return;
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ask = async () => {
      try {
        const answer = await fetchOrNone<T>(path, controller.signal);
        if (controller.signal.aborted) return;
        onAnswer(answer);
        if (pending(answer)) timer = setTimeout(ask, POLL_MS);
      } catch (error) {
        if (!controller.signal.aborted) onError(error);
      }
    };
    ask();
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [path, round]);
}

/** Who speaks on each channel: 0 is the call's caller, 1 its receiver. */
function speakers(call: Call, directory?: Directory): [string, string] {
  const phoneId = call.answered_phone_id ?? call.phone_id;
  const staff = (call.employee_id !== null && directory?.employeeName(call.employee_id)) || (phoneId !== null && directory?.phoneName(phoneId)) || '';
  if (call.direction === 'outbound') return [staff || call.caller_number, call.target_number];
  return [call.caller_name || call.caller_number, staff || call.answered_phone_number || call.receiver_number];
}

function clock(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/**
 * The call's transcript, summary and rating: asks for a transcript when there
 * is none (for those who may), follows it while it is made, and follows the
 * recording as it plays.
 */
export function CallAi({ call, directory, audio }: { call: Call; directory?: Directory; audio: HTMLAudioElement | null }) {
  const session = useSession();
  const canWrite = session.scopes.includes('calls.transcription.write');
  const canRead = session.scopes.includes('calls.transcription.read');
  const canReadSummary = session.scopes.includes('calls.summary.read');
  const [view, setView] = useState<View>({ kind: 'loading' });
  const [round, setRound] = useState(0);
  const [busy, setBusy] = useState(false);
  const base = `/api/v2/calls/${call.id}`;

  usePolled<Transcription>(
    canRead ? `${base}/transcription` : null,
    (t) => t !== null && t.speech_state === 'speech_sent_to_recognition',
    (t) => setView(t === null ? { kind: 'none' } : viewOf(t)),
    (error) => setView({ kind: 'error', error }),
    round,
  );

  if (!canRead) return null;

  const transcribe = async () => {
    setBusy(true);
    try {
      const answer = await post<Transcription>(`${base}/transcription`);
      setView(viewOf(answer.data));
      setRound((r) => r + 1);
    } catch (error) {
      if (error instanceof ApiError && error.code === 'NO_RECORDING') setView({ kind: 'no-recording' });
      else if (error instanceof ApiError && error.code === 'AI_OFF') setView({ kind: 'off' });
      // Already under way (another tab, automatic transcription): follow it.
      else if (error instanceof ApiError && error.status === 409) setRound((r) => r + 1);
      else setView({ kind: 'error', error });
    } finally {
      setBusy(false);
    }
  };
  const button = canWrite && (
    <button type="button" class="primary" onClick={transcribe} disabled={busy}>
      {view.kind === 'failed' ? 'Transcribe again' : 'Transcribe'}
    </button>
  );

  return (
    <>
      <section class="panel transcript-panel" aria-labelledby="transcript-title">
        <h2 id="transcript-title">Transcript</h2>
        {view.kind === 'loading' && <Loading />}
        {view.kind === 'none' &&
          (!call.answered ? (
            <p class="state empty">No recording to transcribe: the call was not answered.</p>
          ) : (
            <div class="inline">
              <p class="state empty">This call has no transcript yet.</p>
              {button}
            </div>
          ))}
        {view.kind === 'pending' && <Loading label="Transcribing the recording…" />}
        {view.kind === 'failed' && (
          <div class="state failure" role="alert">
            <p>The transcription failed: {view.reason}</p>
            {button}
          </div>
        )}
        {view.kind === 'no-recording' && <p class="state empty">No recording to transcribe.</p>}
        {view.kind === 'off' && <p class="state empty">Transcription is not configured on this server.</p>}
        {view.kind === 'error' && <Failure error={view.error} retry={() => setRound((r) => r + 1)} />}
        {view.kind === 'done' && <Lines segments={view.segments} names={speakers(call, directory)} audio={audio} />}
      </section>
      {view.kind === 'done' && canReadSummary && <SummaryAndRating base={base} />}
    </>
  );
}

function Lines({ segments, names, audio }: { segments: Segment[]; names: [string, string]; audio: HTMLAudioElement | null }) {
  const [current, setCurrent] = useState(-1);
  const player = audio;
  useEffect(() => {
    if (!player) return;
    const follow = () => {
      const at = player.currentTime;
      setCurrent(segments.findIndex((s) => s.start <= at && at < s.end));
    };
    player.addEventListener('timeupdate', follow);
    player.addEventListener('seeked', follow);
    return () => {
      player.removeEventListener('timeupdate', follow);
      player.removeEventListener('seeked', follow);
    };
  }, [player, segments]);
  if (segments.length === 0) return <p class="state empty">Nothing was said.</p>;
  const seek = (segment: Segment) => {
    if (!player) return;
    player.currentTime = segment.start;
    void player.play().catch(() => undefined);
  };
  return (
    <ol class="transcript">
      {segments.map((segment, index) => {
        const body = (
          <>
            <span class="when">{clock(segment.start)}</span>
            <span class="sr-only">, </span>
            <span class="who">{names[segment.channel]}</span>
            <span class="sr-only">: </span>
            <span class="said">{segment.text}</span>
          </>
        );
        return (
          <li class={`line channel-${segment.channel}${index === current ? ' speaking' : ''}`} data-start={segment.start} aria-current={index === current ? 'true' : undefined}>
            {player ? (
              <button type="button" class="line-seek" onClick={() => seek(segment)} title={`Play from ${clock(segment.start)}`}>
                <span class="sr-only">Play from </span>
                {body}
              </button>
            ) : (
              <div class="line-body">{body}</div>
            )}
          </li>
        );
      })}
    </ol>
  );
}

function SummaryAndRating({ base }: { base: string }) {
  const [summary, setSummary] = useState<Summary | null | undefined>(undefined);
  const [rating, setRating] = useState<Rating | null | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const [round, setRound] = useState(0);
  const retry = () => {
    setError(null);
    setRound((r) => r + 1);
  };
  usePolled<Summary>(`${base}/summary`, (s) => s?.status === 'pending', setSummary, setError, round);
  usePolled<Rating>(`${base}/rating`, (r) => r?.status === 'pending', setRating, setError, round);
  return (
    <>
      <section class="panel summary-panel" aria-labelledby="summary-title">
        <h2 id="summary-title">Summary</h2>
        {error !== null ? (
          <Failure error={error} retry={retry} />
        ) : summary === undefined || summary?.status === 'pending' ? (
          <Loading label="Summarising…" />
        ) : summary === null ? (
          <p class="state empty">No summary.</p>
        ) : summary.status === 'failed' ? (
          <p class="state failure">The summary failed: {summary.error ?? 'no reason given'}</p>
        ) : (
          <p class="summary-text">{summary.summary}</p>
        )}
      </section>
      <section class="panel rating-panel" aria-labelledby="rating-title">
        <h2 id="rating-title">Rating</h2>
        {error !== null ? null : rating === undefined || rating?.status === 'pending' ? (
          <Loading label="Rating…" />
        ) : rating === null ? (
          <p class="state empty">No rating.</p>
        ) : rating.status === 'failed' ? (
          <p class="state failure">The rating failed: {rating.error ?? 'no reason given'}</p>
        ) : (
          <RatingView rating={rating} />
        )}
      </section>
    </>
  );
}

function RatingView({ rating }: { rating: Rating }) {
  return (
    <>
      <p class="overall">
        Overall <strong class="overall-score">{rating.overall_score}</strong> / 10
      </p>
      {rating.criteria_scores.length > 0 && (
        <table class="compact criteria">
          <thead>
            <tr>
              <th scope="col">Criterion</th>
              <th scope="col">Score</th>
              <th scope="col">Feedback</th>
            </tr>
          </thead>
          <tbody>
            {rating.criteria_scores.map((c) => (
              <tr>
                <td>{c.name}</td>
                <td class="num">{c.score}</td>
                <td>{c.feedback}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {rating.highlights.length > 0 && (
        <>
          <h3>Highlights</h3>
          <ul class="highlights">
            {rating.highlights.map((h) => (
              <li>{h}</li>
            ))}
          </ul>
        </>
      )}
      {rating.improvements.length > 0 && (
        <>
          <h3>To improve</h3>
          <ul class="improvements">
            {rating.improvements.map((h) => (
              <li>{h}</li>
            ))}
          </ul>
        </>
      )}
    </>
  );
}
