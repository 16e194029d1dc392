-- Network shares whose name ends in '$' (C$, ADMIN$, IPC$…), as the server logs their use
-- (Security 5140: a share was accessed; 5145: a file in it was checked) and as the client's
-- command lines map them (net use \\server\X$). host: the server; source: the client address
-- or host; account: who connected (for net use, the /user: account when one is given);
-- target: the file or pipe inside the share (5145), the whole command line for net use;
-- side: 'server' (5140/5145) or 'client' (net use).
WITH server AS MATERIALIZED (
  SELECT time, coalesce(host, computer) AS host, computer, event_id, source_file,
    source_sha256, record_ref,
    json_transform(data, '{"SubjectUserName": "VARCHAR", "SubjectDomainName": "VARCHAR",
      "IpAddress": "VARCHAR", "ShareName": "VARCHAR", "RelativeTargetName": "VARCHAR",
      "ShareLocalPath": "VARCHAR"}') AS d
  FROM events
  WHERE channel = 'Security' AND event_id IN (5140, 5145)
)
SELECT time, host, computer, event_id, 'Security ' || event_id AS seen_in, 'server' AS side,
  source_file, source_sha256, record_ref,
  concat_ws('\', nullif(d.SubjectDomainName, '-'), d.SubjectUserName) AS account,
  CASE WHEN is_ip(lower(d.IpAddress)) THEN regexp_replace(lower(d.IpAddress), '^::ffff:(\d)', '\1')
       ELSE nullif(d.IpAddress, '-') END AS source,
  upper(regexp_extract(d.ShareName, '([^\\]+)$', 1)) AS share,
  nullif(d.RelativeTargetName, '') AS target,
  d.ShareLocalPath AS share_path
FROM server
WHERE ends_with(d.ShareName, '$')
UNION ALL BY NAME
SELECT time,
  lower(regexp_extract(command_line, '\\\\([^\\\s"]+)\\[^\\\s"]+\$', 1)) AS host,
  computer, event_id, seen_in, 'client' AS side, source_file, source_sha256, record_ref,
  coalesce(nullif(regexp_extract(command_line, '(?i)/u(?:ser)?:("[^"]+"|\S+)', 1), ''), account)
    AS account,
  host AS source,
  upper(regexp_extract(command_line, '\\\\[^\\\s"]+\\([^\\\s"]+\$)', 1)) AS share,
  command_line AS target,
  NULL AS share_path
FROM process_creation
WHERE stem IN ('net', 'net1') AND first_arg = 'use'
  AND regexp_matches(command_line, '\\\\[^\\\s"]+\\[^\\\s"]+\$')
  AND NOT (stem = 'net1' AND parent_name = 'net.exe')
