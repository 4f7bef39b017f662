//! The texts of `promsetup --help` that are not a flag's own: what promsetup is, the password
//! inputs, the files it writes and the exit statuses.

pub const ABOUT: &str = "Put Prometheus behind nginx with TLS, basic auth and a URL prefix.";

pub const LONG_ABOUT: &str = "Put Prometheus behind nginx with TLS, basic auth and a URL prefix.

promsetup writes one consistent bundle into --out: nginx.conf, .htpasswd (bcrypt), a self-signed \
certificate and key, and prometheus.flags, the flags Prometheus must run with. It then prints \
where each file goes and how to test the result.

  promsetup init                                   ask for each value at a terminal
  promsetup --non-interactive --domain example.com for scripts: never asks";

pub const AFTER_HELP: &str = "\
Password: there is deliberately no flag that takes the password itself (it would show in `ps` \
and in shell history). Give it with --password-stdin, --password-file or the environment \
variable PROMSETUP_PASSWORD. With none of them, a non-interactive run generates a strong random \
password and stores it in password.txt (mode 0600) in the output folder, and uses it again on the \
next run.

Files written into --out:
  nginx.conf        complete configuration, for `nginx -c` (replaces the main nginx.conf)
  .htpasswd         USER:$2y$ bcrypt hash, mode 0640, group of nginx's worker user (--auth nginx)
  DOMAIN.crt/.key   self-signed certificate (ECDSA P-256) and its key (0600); not with --no-tls
  web.yml           Prometheus's own basic auth (and TLS with --no-nginx), when it checks passwords
  prometheus-scrape.yml, self-scrape.password   Prometheus's self-scrape job, same case
  prometheus.flags  --web.external-url, --web.route-prefix=/, --web.listen-address, ...
Running again with the same answers changes nothing: hashes that still verify and a certificate \
that still serves are kept. A file that would change is replaced only with --force, and then \
kept as NAME.bak.

Exit status: 0 done (with --check: up to date); 1 failed or not written (a file in the way, a \
write failed); 2 bad usage or a value refused (nothing written); 3 --check: a run would change \
the bundle; 130 interrupted.";
