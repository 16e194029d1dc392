-- Process creation from Security 4688 and Sysmon 1, one row per process, in one shape.
-- account: the new process's account (Sysmon User; 4688 TargetUserName when set, else the
-- creator's Subject); original_name: Sysmon's OriginalFileName (a renamed binary keeps it);
-- process_key/parent_key join a process to its parent (Sysmon ProcessGuid, 4688 process ids:
-- join those with an ASOF join on time, process ids are reused). The event's fields are read
-- in one pass over its JSON (json_transform), not one per field.
WITH raw AS MATERIALIZED (
  SELECT time, coalesce(host, computer) AS host, computer, channel, event_id, source_file,
    source_sha256, record_ref,
    json_transform(data, '{"Image": "VARCHAR", "NewProcessName": "VARCHAR",
      "OriginalFileName": "VARCHAR", "CommandLine": "VARCHAR", "ParentImage": "VARCHAR",
      "ParentProcessName": "VARCHAR", "ParentCommandLine": "VARCHAR", "User": "VARCHAR",
      "TargetUserName": "VARCHAR", "TargetDomainName": "VARCHAR",
      "SubjectUserName": "VARCHAR", "SubjectDomainName": "VARCHAR", "ProcessGuid": "VARCHAR",
      "ParentProcessGuid": "VARCHAR", "NewProcessId": "VARCHAR", "ProcessId": "VARCHAR"}') AS d
  FROM events
  WHERE (channel = 'Security' AND event_id = 4688)
     OR (channel = 'Microsoft-Windows-Sysmon/Operational' AND event_id = 1)
),
shaped AS (
  SELECT time, host, computer, channel, event_id,
    CASE WHEN event_id = 1 THEN 'Sysmon 1' ELSE 'Security 4688' END AS seen_in,
    source_file, source_sha256, record_ref,
    coalesce(d.Image, d.NewProcessName) AS image,
    nullif(lower(d.OriginalFileName), '') AS original_name,
    nullif(d.CommandLine, '') AS command_line,
    coalesce(nullif(d.ParentImage, ''), nullif(d.ParentProcessName, '')) AS parent_image,
    nullif(d.ParentCommandLine, '') AS parent_command_line,
    CASE
      WHEN event_id = 1 THEN d.User
      WHEN coalesce(d.TargetUserName, '-') NOT IN ('-', '')
        THEN concat_ws('\', nullif(d.TargetDomainName, '-'), d.TargetUserName)
      ELSE concat_ws('\', nullif(d.SubjectDomainName, '-'), d.SubjectUserName)
    END AS account,
    CASE WHEN event_id = 1 THEN d.ProcessGuid ELSE d.NewProcessId END AS process_key,
    CASE WHEN event_id = 1 THEN d.ParentProcessGuid ELSE d.ProcessId END AS parent_key
  FROM raw
)
SELECT *,
  lower(regexp_extract(image, '[^\\/]+$')) AS image_name,
  lower(regexp_extract(parent_image, '[^\\/]+$')) AS parent_name,
  -- the tool's own name: its OriginalFileName (a renamed copy keeps it), without ".exe" and the
  -- ".mui" some builds carry, and under the name users type where Windows' build name differs
  CASE regexp_replace(lower(coalesce(original_name, regexp_extract(image, '[^\\/]+$'))),
                      '(\.exe)?(\.mui)?$', '')
    WHEN 'nltestrk' THEN 'nltest'
    WHEN 'sysinfo' THEN 'systeminfo'
    WHEN 'nbtinfo' THEN 'nbtstat'
    ELSE regexp_replace(lower(coalesce(original_name, regexp_extract(image, '[^\\/]+$'))),
                        '(\.exe)?(\.mui)?$', '')
  END AS stem,
  lower(regexp_extract(trim(regexp_replace(coalesce(command_line, ''), '^\s*("[^"]*"|\S+)', '')),
                       '^([A-Za-z]+)(\s|$)', 1)) AS first_arg
FROM shaped
