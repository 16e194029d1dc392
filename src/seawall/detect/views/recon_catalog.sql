-- Discovery commands and their ATT&CK techniques. A two-word name is a command and its first
-- argument ("net user"); "net" alone stands for net with an unknown or absent sub-command.
SELECT command, string_split(techniques, ' ') AS techniques
FROM (VALUES
  ('net user', 'T1087'), ('net group', 'T1069 T1087'), ('net localgroup', 'T1069 T1087'),
  ('net view', 'T1018 T1135'), ('net share', 'T1135'), ('net use', 'T1049 T1135'),
  ('net session', 'T1049'), ('net accounts', 'T1201'), ('net start', 'T1007'),
  ('net time', 'T1124'), ('net config', 'T1016 T1082'),
  ('net', 'T1087 T1069 T1018 T1135 T1049'),
  ('ipconfig', 'T1016'), ('ping', 'T1018'), ('whoami', 'T1033'), ('nltest', 'T1482 T1018'),
  ('systeminfo', 'T1082'), ('arp', 'T1016 T1018'), ('netstat', 'T1049'),
  ('tasklist', 'T1057'), ('quser', 'T1033'), ('query user', 'T1033'),
  ('query session', 'T1033'), ('qwinsta', 'T1033'), ('dsquery', 'T1087 T1069 T1018'),
  ('nslookup', 'T1018'), ('route', 'T1016'), ('reg query', 'T1012'), ('hostname', 'T1082'),
  ('nbtstat', 'T1016 T1018'), ('tracert', 'T1016 T1018'), ('getmac', 'T1016'),
  ('sc query', 'T1007')
) AS c(command, techniques)
