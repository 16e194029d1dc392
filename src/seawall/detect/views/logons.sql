-- Windows authentication as one shape: Security 4624 (logon), 4625 (failed logon), 4648
-- (explicit credentials), 4776 (NTLM validation on a DC), 4771 (Kerberos pre-authentication
-- failed), and Remote Desktop: 1149 (RemoteConnectionManager: the user authenticated) and
-- 21/24/25 (LocalSessionManager: session logon, disconnect, reconnect).
-- kind: logon, failure, explicit, ntlm, kerberos, rdp-auth, rdp-session; outcome: success,
-- failure or other; account: DOMAIN\user; user_key: the bare lower-case account name;
-- source_ip: the client address (NULL when the event has none, '-'); source: the address,
-- else the workstation name. UserData fields are read both flattened with their element
-- ("EventXML.Param1") and bare ("Param1").
WITH raw AS MATERIALIZED (
  SELECT time, coalesce(host, computer) AS host, computer, channel, event_id, source_file,
    source_sha256, record_ref,
    CASE
      WHEN channel = 'Security' AND event_id = 4624 THEN 'logon'
      WHEN channel = 'Security' AND event_id = 4625 THEN 'failure'
      WHEN channel = 'Security' AND event_id = 4648 THEN 'explicit'
      WHEN channel = 'Security' AND event_id = 4776 THEN 'ntlm'
      WHEN channel = 'Security' AND event_id = 4771 THEN 'kerberos'
      WHEN event_id = 1149 THEN 'rdp-auth'
      ELSE 'rdp-session'
    END AS kind,
    json_transform(data, '{"TargetUserName": "VARCHAR", "TargetDomainName": "VARCHAR",
      "SubjectUserName": "VARCHAR", "SubjectDomainName": "VARCHAR", "LogonType": "VARCHAR",
      "IpAddress": "VARCHAR", "WorkstationName": "VARCHAR", "Workstation": "VARCHAR",
      "Status": "VARCHAR", "SubStatus": "VARCHAR", "TargetServerName": "VARCHAR",
      "ProcessName": "VARCHAR", "AuthenticationPackageName": "VARCHAR",
      "LogonProcessName": "VARCHAR", "EventXML.Param1": "VARCHAR", "Param1": "VARCHAR",
      "EventXML.Param2": "VARCHAR", "Param2": "VARCHAR", "EventXML.Param3": "VARCHAR",
      "Param3": "VARCHAR", "EventXML.User": "VARCHAR", "User": "VARCHAR",
      "EventXML.Address": "VARCHAR", "Address": "VARCHAR"}') AS d
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
        nullif(coalesce(d."EventXML.Param2", d.Param2), ''),
        coalesce(d."EventXML.Param1", d.Param1))
      WHEN kind = 'rdp-session' THEN coalesce(d."EventXML.User", d.User)
      ELSE concat_ws('\', nullif(nullif(d.TargetDomainName, '-'), ''), d.TargetUserName)
    END AS account,
    CASE WHEN kind = 'explicit' THEN
      concat_ws('\', nullif(d.SubjectDomainName, '-'), d.SubjectUserName)
    END AS subject_account,
    TRY_CAST(d.LogonType AS INTEGER) AS logon_type,
    lower(trim(CASE
      WHEN kind = 'rdp-auth' THEN coalesce(d."EventXML.Param3", d.Param3)
      WHEN kind = 'rdp-session' THEN coalesce(d."EventXML.Address", d.Address)
      ELSE d.IpAddress
    END)) AS ip_text,
    nullif(nullif(trim(coalesce(d.WorkstationName, d.Workstation)), '-'), '') AS workstation,
    CASE
      WHEN kind = 'failure' THEN coalesce(nullif(nullif(d.SubStatus, '0x0'), ''), d.Status)
      ELSE d.Status
    END AS status,
    nullif(d.TargetServerName, '') AS target_server,
    nullif(nullif(d.ProcessName, '-'), '') AS process,
    nullif(nullif(d.AuthenticationPackageName, '-'), '') AS package,
    nullif(nullif(d.LogonProcessName, '-'), '') AS logon_process
  FROM raw
)
SELECT *,
  CASE
    WHEN kind IN ('failure', 'kerberos') THEN 'failure'
    WHEN kind = 'ntlm' THEN CASE WHEN lower(status) IN ('0x0', '0') THEN 'success' ELSE 'failure' END
    WHEN kind = 'rdp-session' AND event_id = 24 THEN 'other'
    ELSE 'success'
  END AS outcome,
  CASE WHEN is_ip(ip_text) THEN regexp_replace(ip_text, '^::ffff:(\d)', '\1') END AS source_ip,
  coalesce(CASE WHEN is_ip(ip_text) THEN regexp_replace(ip_text, '^::ffff:(\d)', '\1') END,
           lower(workstation)) AS source,
  bare_account(account) AS user_key
FROM shaped
