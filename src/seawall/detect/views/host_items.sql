-- What a host holds that a baseline can remember (host.baseline-anomaly): one row per
-- executable, script or archive swept in a system or staging folder (kind 'file', item the
-- lower-case Windows path, value its SHA-256, seen_at the start of the sweep that read it: a
-- re-sweep keeps an unchanged file's row from the earlier sweep), and per service installed
-- (7045, 4697), scheduled task created (4698) and autorun written (Sysmon 13 on Run, RunOnce,
-- Winlogon and service image paths), with what it runs as value and the event's time.
-- Watched folders: C:\Windows\Debug, Temp, Tasks, Tracing, System32\Tasks, C:\PerfLogs,
-- C:\ProgramData, C:\Users\Public, the recycle bins, C:\Intel, the files directly in
-- C:\Windows, System32, SysWOW64, System32\drivers, wbem and WindowsPowerShell\v1.0, and the
-- users' Startup folders.
WITH swept AS (
  SELECT f.*, timezone('UTC', r.started_at) AS seen_at
  FROM files f LEFT JOIN runs r USING (run_id)
  WHERE f.windows_path IS NOT NULL
    AND regexp_matches(f.windows_path,
      '^[a-z]:\\(windows\\(debug|temp|tasks|tracing|system32\\tasks)\\|perflogs\\|programdata\\|users\\public\\|\$recycle\.bin\\|recycler\\|intel\\|windows\\[^\\]+$|windows\\(system32|syswow64)\\[^\\]+$|windows\\system32\\(drivers|wbem|windowspowershell\\v1\.0)\\[^\\]+$|users\\[^\\]+\\appdata\\roaming\\microsoft\\windows\\start menu\\programs\\startup\\)')
    AND (f.file_type IN ('pe32', 'pe32+', 'msdos', 'elf', 'script', 'jar', 'lnk', 'zip', 'rar',
                         '7z', 'cab', 'gzip', 'bzip2', 'xz', 'zstd', 'tar')
         OR regexp_matches(f.windows_path,
           '\.(exe|dll|sys|scr|cpl|ocx|com|drv|efi|ps1|psm1|psd1|bat|cmd|vbs|vbe|js|jse|wsf|wsh|hta|jar|msi|msp|lnk|zip|rar|7z|cab|gz|tgz|bz2|xz|tar)$'))
),
logged AS (
  SELECT time, lower(coalesce(host, computer)) AS host, channel, event_id, source_file,
    source_sha256, record_ref, user_name,
    json_transform(data, '{"ServiceName": "VARCHAR", "ImagePath": "VARCHAR",
      "ServiceFileName": "VARCHAR", "TaskName": "VARCHAR", "TaskContent": "VARCHAR",
      "TargetObject": "VARCHAR", "Details": "VARCHAR", "Image": "VARCHAR",
      "SubjectUserName": "VARCHAR", "User": "VARCHAR"}') AS d
  FROM events
  WHERE (channel = 'System' AND event_id = 7045)
     OR (channel = 'Security' AND event_id IN (4697, 4698))
     OR (channel = 'Microsoft-Windows-Sysmon/Operational' AND event_id = 13)
)
SELECT lower(host) AS host, 'file' AS kind, 'file:' || windows_path AS item, sha256 AS value,
  seen_at, windows_path, name, size, file_type, signature_status, signer, pe_company,
  owner AS account, NULL::VARCHAR AS channel, NULL::INTEGER AS event_id, source_file,
  source_sha256, record_ref
FROM swept
UNION ALL
SELECT host,
  CASE WHEN event_id IN (7045, 4697) THEN 'service' WHEN event_id = 4698 THEN 'task'
       ELSE 'autorun' END,
  CASE WHEN event_id IN (7045, 4697) THEN 'service:' || lower(d.ServiceName)
       WHEN event_id = 4698 THEN 'task:' || lower(d.TaskName)
       ELSE 'autorun:' || lower(d.TargetObject) END,
  lower(trim(CASE
    WHEN event_id = 7045 THEN d.ImagePath
    WHEN event_id = 4697 THEN d.ServiceFileName
    WHEN event_id = 4698
      THEN concat_ws(' ', regexp_extract(d.TaskContent, '<Command>([^<]*)</Command>', 1),
                     regexp_extract(d.TaskContent, '<Arguments>([^<]*)</Arguments>', 1))
    ELSE d.Details END)),
  time, NULL, coalesce(d.ServiceName, d.TaskName, d.TargetObject), NULL, NULL, NULL, NULL, NULL,
  coalesce(d.SubjectUserName, d.User, user_name), channel, event_id, source_file,
  source_sha256, record_ref
FROM logged
WHERE event_id <> 13
   OR regexp_matches(lower(d.TargetObject),
     '\\currentversion\\(run|runonce|runservices|policies\\explorer\\run)\\|\\currentversion\\winlogon\\(shell|userinit)$|\\services\\[^\\]+\\imagepath$')
