"""Every bound in fiduciary, named with its unit last.

Nothing in the project is unbounded: a string, a list, a loop, a retry, a wait or a
request body takes its limit from here, so a reviewer finds all of them in one place.
"""

from __future__ import annotations

from typing import Final

# Money at the edge.
amount_chars_max: Final = 32
"""Longest amount string; it also bounds the integer the parser builds."""
amount_minor_max: Final = 10**15
"""Largest amount in minor units; below 2**53 so every amount is exact in JSON readers."""

# Free text an agent sends.
purpose_chars_max: Final = 500
counterparty_chars_max: Final = 200
memo_chars_max: Final = 500
category_chars_max: Final = 64
idempotency_key_chars_max: Final = 128
metadata_entries_max: Final = 16
metadata_key_chars_max: Final = 64
metadata_value_chars_max: Final = 256
reason_chars_max: Final = 500
scrub_attempts: Final = 40
"""How often an erasure tries to truncate the WAL (50 ms apart) before saying a reader kept it."""

# Names an operator gives (orgs, projects, agents, operators).
name_chars_max: Final = 64

# Reads.
list_page_size_max: Final = 100
list_page_size_default: Final = 20

# Tokens and identifiers.
agent_token_bytes: Final = 32
token_chars_max: Final = 256
id_random_bytes: Final = 16
operator_token_days_max: Final = 3650
"""Longest lifetime an operator token may be given; a token without an expiry lives until revoked."""

# Unauthenticated refusals, counted per source and minute.
refusal_sources_max: Final = 1_000
"""Distinct sources counted apart; past this, further sources share one bucket."""
refusal_source_chars_max: Final = 64

# Mandates.
mandate_ttl_seconds: Final = 300
"""Lifetime of a closed mandate: long enough to dispatch, short enough to be useless if stolen."""
mandate_ttl_seconds_max: Final = 900
mandate_clock_skew_seconds: Final = 5
open_mandate_constraint_list_max: Final = 100
"""Most entries in one of an open mandate's counterparty, category, country or tool lists."""

# Approvals.
approval_ttl_seconds: Final = 24 * 3600
"""An approval that nobody decides within this time expires: silence is not consent."""
open_mandate_days_max: Final = 366
"""Longest validity an operator may give an open mandate; renew it to go on."""

# Policies.
policy_file_bytes_max: Final = 256 * 1024
policy_rules_max: Final = 2_000
policy_list_entries_max: Final = 1000

# Policy simulation.
simulate_transactions_max: Final = 50_000
"""Most recorded calls one `policy simulate` replays (the oldest beyond it are left out, and it says so)."""

# Budget alerts.
alert_webhooks_max: Final = 10
alert_url_chars_max: Final = 512
alert_attempts_max: Final = 8
"""Deliveries tried per alert and webhook before it is recorded as failed."""
alert_retry_base_seconds: Final = 5
alert_retry_max_seconds: Final = 3600
alert_timeout_ms: Final = 5_000
alert_deliveries_per_round_max: Final = 100

# Audit sinks.
sinks_max: Final = 16
"""Most sinks one sinks file may configure."""
sink_timeout_ms: Final = 10_000
"""Longest wait for a sink's answer; after it the batch counts as not delivered and is sent again."""
sink_claim_seconds: Final = 600
"""How long one process holds a (sink, org) pair while it sends: others leave it alone meanwhile,
and take it over once this has passed (a process that died mid-round)."""
sink_batches_per_round: Final = 10
"""Batches one maintenance round sends to one sink for one org: a round's work stays bounded."""
sink_retry_base_seconds: Final = 5
sink_retry_max_seconds: Final = 900
"""The longest a failing sink waits before it is tried again (a `Retry-After` is capped here too)."""
sink_error_chars_max: Final = 200
"""Longest reason recorded for a sink's last error: a code and a few words, never a response body."""
splunk_batch_bytes_max: Final = 1024 * 1024
"""Splunk HEC refuses a request larger than its `max_content_length`; 1 MB, Splunk Cloud's limit."""
splunk_batch_events_max: Final = 1_000
datadog_batch_bytes_max: Final = 5 * 1000 * 1000
"""Datadog's logs intake: at most 5 MB (uncompressed) per request..."""
datadog_batch_entries_max: Final = 1_000
"""...at most 1,000 log entries per request..."""
datadog_entry_bytes_max: Final = 1000 * 1000
"""...and at most 1 MB per entry (a larger one is truncated, so it is never sent)."""
s3_batch_entries_max: Final = 100_000
"""Most entries in one S3 bundle; it ends at the latest checkpoint that keeps within this."""
s3_manifest_seconds_default: Final = 300
"""How often an S3 sink writes a bundle (entries and their signed manifest) of what was added."""
s3_manifest_seconds_max: Final = 86_400

# Rails.
rail_note_chars_max: Final = 500
"""Longest free text from a rail that may be shown to the model (after screening)."""
rail_timeout_ms: Final = 10_000
"""Longest wait for a rail's answer; after it the outcome is unknown and is reconciled by key."""
rails_max: Final = 32
"""Most rails one rails file may configure."""
rail_attempts_max: Final = 10
rail_reference_chars_max: Final = 128
"""Longest reference a rail may give a payment; a longer one is not believed."""
rail_response_bytes_max: Final = 1024 * 1024
"""Largest provider answer an adapter reads; a larger one is not believed."""
circle_replay_hours: Final = 24
"""How long after a payment the stablecoin rail still asks Circle about it by replaying its
idempotency key; Circle publishes no retention, so past this the payment is left to a person."""

# Storage.
db_busy_timeout_ms: Final = 10_000
audit_payload_bytes_max: Final = 64 * 1024
audit_verify_batch_rows: Final = 5_000
audit_progress_entries: Final = 100_000
"""How often `audit verify` on a terminal says how far it got."""
key_recheck_seconds: Final = 1.0
"""How long a process signs with the key it unlocked before asking again which key is current:
a key rotated by another process stops signing here within this time (it still verifies)."""
key_rotation_days_default: Final = 90
"""Each org key is replaced when it is this old, unless FIDUCIARY_KEY_ROTATION_DAYS says otherwise."""
key_rotation_days_max: Final = 3_650
checkpoint_entries: Final = 1_000
"""A running server signs a checkpoint of a chain that grew by this many entries since the last..."""
checkpoint_seconds: Final = 3_600
"""...or that grew at all since a checkpoint this old."""
jwks_max_age_seconds: Final = 300
"""How long a client may cache `/.well-known/jwks.json` (a rotated key shows within this time)."""
audit_show_entries_max: Final = 1_000
"""Most entries `audit show` prints for one id."""
replay_rounds_max: Final = 5
"""Most times `audit replay` reads the tables again because writes moved the chain's head meanwhile."""
resume_transactions_max: Final = 10_000
dispatch_lease_seconds: Final = 60
"""How long a process's claim on an in-flight payment holds: longer than a rail call and its lookup."""
in_flight_idle_seconds: Final = 60
"""A running server takes over an in-flight payment nobody moved for this long and nobody holds."""
maintenance_interval_seconds: Final = 30
"""How often a running server sweeps: abandoned payments, expired approvals, closed refusal windows."""

# Injection screening.
injection_text_chars_max: Final = 100_000
"""Longest text the scorer reads; longer input is truncated for scoring and flagged."""
injection_decode_depth_max: Final = 2
"""How many times an embedded base64/hex/percent run is decoded and rescanned."""
injection_decoded_chars_max: Final = 20_000
"""Decoded characters rescanned per text, over all payloads and depths."""
injection_decode_runs_max: Final = 32
"""Candidate encoded runs tried per text at each depth; a flood of look-alike runs stops here."""
injection_payloads_max: Final = 16
"""Decoded payloads rescanned per text, over all depths."""
injection_custom_patterns_max: Final = 200
injection_custom_pattern_chars_max: Final = 500
injection_custom_pattern_mem_bytes_max: Final = 1024 * 1024
"""Memory RE2 may use to compile one organisation pattern (its default is 8 MiB)."""
injection_custom_id_chars_max: Final = 64
injection_custom_family_chars_max: Final = 32
injection_rule_occurrences_max: Final = 8
"""Occurrences of a rule's first part tried when checking its other parts nearby."""

# HTTP surface.
http_request_body_bytes_max: Final = 1024 * 1024
admin_body_bytes_max: Final = 512 * 1024
"""Largest JSON body the admin API reads (a policy file fits: `policy_file_bytes_max` is 256 KiB)."""

# The dashboard.
session_ttl_seconds: Final = 8 * 3600
"""A dashboard session ends this long after sign-in, whatever happens in between (a working day)."""
dashboard_form_bytes_max: Final = 64 * 1024
"""Largest form body the dashboard reads."""
dashboard_form_fields_max: Final = 50
dashboard_forms_remembered_max: Final = 100_000
"""One-time form tokens a process remembers as used (the oldest are forgotten first)."""
approvers_max: Final = 5
"""Most distinct operators a policy rule may require to approve one payment."""

# Reconciliation.
reconcile_interval_seconds: Final = 60
"""How often a running server matches each rail's receipts against the ledger (FIDUCIARY_RECONCILE_SECONDS)."""
reconcile_first_window_hours: Final = 24
"""How far back the first round of a process looks."""
reconcile_overlap_seconds: Final = 300
"""Receipts are read this much before the window, and settlements this recent wait for the next round."""
reconcile_transactions_max: Final = 10_000
flags_page_max: Final = 100
