"""Audit sinks: every org's chain delivered, in order and at least once, to Splunk HEC, Datadog
logs and S3 (`config` reads the sinks file, `formats` builds each service's batches within its
limits, `http` and `s3` send them and say what an answer means, `deliver` moves the cursors)."""
