-- PowerShell code as it ran: script blocks (4104) and pipeline module logs (4103), with the
-- account when the event says it (4103 ContextInfo; otherwise the event's user).
WITH raw AS MATERIALIZED (
  SELECT time, coalesce(host, computer) AS host, computer, channel, event_id, source_file,
    source_sha256, record_ref, user_name, user_sid,
    json_transform(data, '{"ScriptBlockText": "VARCHAR", "Payload": "VARCHAR",
      "ContextInfo": "VARCHAR", "ScriptBlockId": "VARCHAR"}') AS d
  FROM events
  WHERE channel = 'Microsoft-Windows-PowerShell/Operational' AND event_id IN (4103, 4104)
)
SELECT time, host, computer, channel, event_id, 'PowerShell ' || event_id AS seen_in,
  source_file, source_sha256, record_ref,
  coalesce(nullif(trim(regexp_extract(d.ContextInfo, 'User = ([^\r\n]+)', 1)), ''),
           user_name, user_sid) AS account,
  coalesce(d.ScriptBlockText, d.Payload) AS text,
  d.ScriptBlockId AS script_block_id
FROM raw
