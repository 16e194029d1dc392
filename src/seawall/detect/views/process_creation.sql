-- Process creation from Security 4688 and Sysmon 1, one row per process, in one shape.
-- account: the new process's account (Sysmon User; 4688 TargetUserName when set, else the
-- creator's Subject); original_name: Sysmon's OriginalFileName (a renamed binary keeps it);
-- process_key/parent_key join a process to its parent (Sysmon ProcessGuid, 4688 process ids:
-- join those with an ASOF join on time, process ids are reused).
SELECT *,
  lower(regexp_extract(image, '[^\\/]+$')) AS image_name,
  lower(regexp_extract(parent_image, '[^\\/]+$')) AS parent_name,
  regexp_replace(coalesce(original_name, lower(regexp_extract(image, '[^\\/]+$'))),
                 '\.exe$', '') AS stem,
  lower(regexp_extract(trim(regexp_replace(coalesce(command_line, ''), '^\s*("[^"]*"|\S+)', '')),
                       '^([A-Za-z]+)(\s|$)', 1)) AS first_arg
FROM (
  SELECT time, coalesce(host, computer) AS host, computer, channel, event_id,
    CASE WHEN event_id = 1 THEN 'Sysmon 1' ELSE 'Security 4688' END AS seen_in,
    source_file, source_sha256, record_ref,
    coalesce(data->>'Image', data->>'NewProcessName') AS image,
    nullif(lower(data->>'OriginalFileName'), '') AS original_name,
    nullif(data->>'CommandLine', '') AS command_line,
    coalesce(nullif(data->>'ParentImage', ''), nullif(data->>'ParentProcessName', ''))
      AS parent_image,
    nullif(data->>'ParentCommandLine', '') AS parent_command_line,
    CASE
      WHEN event_id = 1 THEN data->>'User'
      WHEN coalesce(data->>'TargetUserName', '-') NOT IN ('-', '')
        THEN concat_ws('\', nullif(data->>'TargetDomainName', '-'), data->>'TargetUserName')
      ELSE concat_ws('\', nullif(data->>'SubjectDomainName', '-'), data->>'SubjectUserName')
    END AS account,
    CASE WHEN event_id = 1 THEN data->>'ProcessGuid' ELSE data->>'NewProcessId' END
      AS process_key,
    CASE WHEN event_id = 1 THEN data->>'ParentProcessGuid' ELSE data->>'ProcessId' END
      AS parent_key
  FROM events
  WHERE (channel = 'Security' AND event_id = 4688)
     OR (channel = 'Microsoft-Windows-Sysmon/Operational' AND event_id = 1)
)
