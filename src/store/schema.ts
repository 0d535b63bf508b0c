import type { Generated } from 'kysely';

/** Table shapes as Kysely sees them. Times are Unix seconds on every engine, except in the tables whose comment says milliseconds. */
export interface Database {
  accounts: {
    id: Generated<number>;
    name: string;
    email: string | null;
    timezone: string;
    created_at: number;
  };
  employees: {
    account_id: number;
    id: Generated<number>;
    name: string;
    email: string | null;
    created_at: number;
    updated_at: number;
  };
  phones: {
    account_id: number;
    id: Generated<number>;
    employee_id: number | null;
    name: string;
    status: string;
    internal_number: number | null;
    number: string;
    group_id: number | null;
    group_title: string | null;
    /** JSON of the outbound, record, voicemail, forwarding and audio settings. */
    settings: string;
    created_at: number;
    updated_at: number;
  };
  tags: {
    account_id: number;
    id: Generated<number>;
    name: string;
    /** The name folded for the case-insensitive uniqueness rule. */
    name_key: string;
    color: string;
    description: string | null;
    created_at: number;
    updated_at: number;
  };
  calls: {
    account_id: number;
    id: Generated<number>;
    pbx_id: string | null;
    call_type: string;
    sip_status: string;
    sip_code: number;
    caller_number: string;
    caller_name: string | null;
    target_number: string;
    answered_phone_number: string | null;
    phone_id: number | null;
    answered_phone_id: number | null;
    employee_id: number | null;
    wait_duration_sec: number;
    duration_sec: number;
    play_record_link: string | null;
    registration_time: number;
    start_time: number;
    answered_time: number | null;
    end_time: number;
    search_numbers: string;
    search_name: string;
    created_at: number;
  };
  pbx_events: {
    account_id: number;
    pbx_id: string;
    /** A digest of the event's own fields: the same event twice has the same key. */
    event_key: string;
    event: string;
    event_time: number;
    /** The event as normalised JSON. */
    payload: string;
    received_at: number;
  };
  call_tags: {
    account_id: number;
    call_id: number;
    tag_id: number;
    /** The call's start_time, so that a tag filter walks in list order. */
    start_time: number;
  };
  oauth_clients: {
    client_id: string;
    account_id: number;
    name: string;
    secret_hash: string;
    scopes: string;
    created_at: number;
    revoked_at: number | null;
  };
  access_tokens: {
    token_hash: string;
    account_id: number;
    client_id: string;
    scopes: string;
    created_at: number;
    expires_at: number;
  };
  webhook_settings: {
    account_id: number;
    /** Null until the operator sets it: no events are queued without a URL. */
    url: string | null;
    secret: string;
    created_at: number;
    updated_at: number;
  };
  webhook_subscriptions: {
    account_id: number;
    event: string;
    created_at: number;
  };
  /** The outbox. Times in this table are Unix milliseconds. */
  webhook_deliveries: {
    account_id: number;
    id: Generated<number>;
    event: string;
    pbx_id: string | null;
    /** The exact JSON sent, the same bytes on every attempt. */
    body: string;
    status: string;
    attempts: Generated<number>;
    next_attempt_at: number;
    /** Retries stop once the retry window has passed since this time: the event's own, or its redelivery's. */
    retry_from: number;
    created_at: number;
    last_attempt_at: number | null;
    delivered_at: number | null;
    last_status: number | null;
    last_error: string | null;
  };
  /** Calls started through the API, while they last and after. Times are Unix milliseconds. */
  click_calls: {
    account_id: number;
    /** The id the call's record gets in `calls` when it ends. */
    id: number;
    phone_id: number;
    employee_id: number | null;
    caller_number: string;
    target_number: string;
    status: string;
    failure: string | null;
    sip_code: number | null;
    ended_by: string | null;
    started_at: number;
    phone_answered_at: number | null;
    answered_at: number | null;
    ended_at: number | null;
    updated_at: number;
  };
  /** People who sign in to the dashboard. */
  users: {
    id: Generated<number>;
    account_id: number;
    email: string;
    /** The email folded for the uniqueness rule and for signing in. */
    email_key: string;
    name: string;
    role: string;
    employee_id: number | null;
    /** scrypt$N$r$p$salt$hash, see domain/passwords. */
    password_hash: string;
    disabled_at: number | null;
    created_at: number;
    updated_at: number;
  };
  /** Dashboard sessions by the SHA-256 of their id. Times are Unix milliseconds. */
  user_sessions: {
    id_hash: string;
    account_id: number;
    user_id: number;
    created_at: number;
    last_seen_at: number;
    /** The absolute end, whatever the activity. */
    expires_at: number;
  };
  /** Wrong passwords per email, for the sign-in lock. Times are Unix milliseconds. */
  sign_in_failures: {
    email_key: string;
    failures: number;
    first_failure_at: number;
    locked_until: number | null;
  };
  /** AI jobs and their results, one row per call and kind. Times are Unix milliseconds. */
  call_ai_jobs: {
    account_id: number;
    id: Generated<number>;
    call_id: number;
    /** transcription, summary or rating */
    kind: string;
    /** pending (queued or running), done or failed */
    status: string;
    attempts: Generated<number>;
    /** When the job is due; while a worker holds it, when its lease runs out. */
    next_attempt_at: number;
    created_at: number;
    updated_at: number;
    finished_at: number | null;
    last_error: string | null;
    /** The result as JSON, once done. */
    result: string | null;
  };
  /** Each account's AI settings. updated_at is Unix milliseconds. */
  ai_settings: {
    account_id: number;
    summary_instructions: string | null;
    /** JSON array of {name, description}. */
    rating_criteria: string;
    /** 1 or 0. */
    auto_transcribe: number;
    auto_transcribe_min_sec: number;
    /** Calls up to this id have been considered for automatic transcription. */
    auto_after_call_id: number;
    updated_at: number;
  };
  /** Audio files sipsim holds, by the call's PBX id; the bytes are in the recordings directory. Times are Unix milliseconds. */
  recordings: {
    account_id: number;
    pbx_id: string;
    file_name: string | null;
    content_type: string | null;
    size_bytes: number | null;
    created_at: number;
    deleted_at: number | null;
  };
  /** Text messages on the account's numbers. Times are Unix seconds. */
  sms_messages: {
    id: Generated<number>;
    account_id: number;
    event_key: string;
    direction: string;
    caller: string;
    receiver: string;
    message: string;
    time: number;
    created_at: number;
  };
  server_settings: {
    key: string;
    value: string;
  };
}
