-- Windows authentication as one shape: Security 4624 (logon), 4625 (failed logon), 4648
-- (explicit credentials), 4776 (NTLM validation on a DC), 4771 (Kerberos pre-authentication
-- failed), and Remote Desktop: 1149 (RemoteConnectionManager: the user authenticated) and
-- 21/24/25 (LocalSessionManager: session logon, disconnect, reconnect).
-- kind: logon, failure, explicit, ntlm, kerberos, rdp-auth, rdp-session; outcome: success,
-- failure or other; account: DOMAIN\user; source_ip: NULL when the event has none ('-');
-- source: the address, else the workstation name. UserData fields are read both flattened
-- with their element ("EventXML.Param1") and bare ("Param1").
WITH raw AS (
  SELECT time, coalesce(host, computer) AS host, computer, channel, event_id, source_file,
    source_sha256, record_ref, data,
    CASE
      WHEN channel = 'Security' AND event_id = 4624 THEN 'logon'
      WHEN channel = 'Security' AND event_id = 4625 THEN 'failure'
      WHEN channel = 'Security' AND event_id = 4648 THEN 'explicit'
      WHEN channel = 'Security' AND event_id = 4776 THEN 'ntlm'
      WHEN channel = 'Security' AND event_id = 4771 THEN 'kerberos'
      WHEN event_id = 1149 THEN 'rdp-auth'
      ELSE 'rdp-session'
    END AS kind
  FROM events
  WHERE (channel = 'Security' AND event_id IN (4624, 4625, 4648, 4776, 4771))
     OR (channel = 'Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational'
         AND event_id = 1149)
     OR (channel = 'Microsoft-Windows-TerminalServices-LocalSessionManager/Operational'
         AND event_id IN (21, 24, 25))
),
shaped AS (
  SELECT time, host, computer, channel, event_id, source_file, source_sha256, record_ref, kind,
    CASE
      WHEN kind = 'rdp-auth' THEN concat_ws('\',
        nullif(coalesce(data->>'EventXML.Param2', data->>'Param2'), ''),
        coalesce(data->>'EventXML.Param1', data->>'Param1'))
      WHEN kind = 'rdp-session' THEN coalesce(data->>'EventXML.User', data->>'User')
      ELSE concat_ws('\', nullif(nullif(data->>'TargetDomainName', '-'), ''),
                     data->>'TargetUserName')
    END AS account,
    CASE WHEN kind = 'explicit' THEN
      concat_ws('\', nullif(data->>'SubjectDomainName', '-'), data->>'SubjectUserName')
    END AS subject_account,
    TRY_CAST(data->>'LogonType' AS INTEGER) AS logon_type,
    trim(CASE
      WHEN kind = 'rdp-auth' THEN coalesce(data->>'EventXML.Param3', data->>'Param3')
      WHEN kind = 'rdp-session' THEN coalesce(data->>'EventXML.Address', data->>'Address')
      ELSE data->>'IpAddress'
    END) AS ip_text,
    nullif(nullif(trim(coalesce(data->>'WorkstationName', data->>'Workstation')), '-'), '')
      AS workstation,
    CASE
      WHEN kind = 'failure' THEN
        coalesce(nullif(nullif(data->>'SubStatus', '0x0'), ''), data->>'Status')
      ELSE data->>'Status'
    END AS status,
    nullif(data->>'TargetServerName', '') AS target_server,
    nullif(nullif(data->>'ProcessName', '-'), '') AS process,
    nullif(nullif(data->>'AuthenticationPackageName', '-'), '') AS package,
    nullif(nullif(data->>'LogonProcessName', '-'), '') AS logon_process
  FROM raw
)
SELECT *,
  CASE
    WHEN kind IN ('failure', 'kerberos') THEN 'failure'
    WHEN kind = 'ntlm' THEN CASE WHEN lower(status) IN ('0x0', '0') THEN 'success' ELSE 'failure' END
    WHEN kind = 'rdp-session' AND event_id = 24 THEN 'other'
    ELSE 'success'
  END AS outcome,
  CASE WHEN ip_number(ip_text) IS NOT NULL THEN regexp_replace(lower(ip_text), '^::ffff:', '')
  END AS source_ip,
  coalesce(CASE WHEN ip_number(ip_text) IS NOT NULL
                THEN regexp_replace(lower(ip_text), '^::ffff:', '') END,
           lower(workstation)) AS source,
  bare_account(account) AS user_key
FROM shaped
