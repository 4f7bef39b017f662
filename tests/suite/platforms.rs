//! `--target kubernetes` and `--target compose`, checked with each platform's own tools:
//! `kubernetes-validate --strict` on the manifests, the Prometheus patch and chart values
//! against prometheus-operator's CRD schema (v0.93.0, tests/data/, made strict by
//! tests/data/validate_crd.py), `docker-compose config` on compose.yaml and `nginx -t` on the
//! nginx.conf inside it with the container paths mapped to the bundle folder. A property test
//! parses the YAML of generated (and hostile) inputs: no value adds a field, an item or a
//! document.
//!
//! kubernetes-validate and the Python with jsonschema come from the venv `.ci/run` makes
//! (`$PROMSETUP_VENV`, default /opt/promsetup-ci-venv); under CI=true a missing one fails.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use base64::Engine;
use promsetup::bundle::existing::Existing;
use promsetup::bundle::plan::plan;
use promsetup::bundle::templates::Templates;
use promsetup::model::given::{DeployTarget, Given, TlsChoice};
use promsetup::model::password::Password;
use promsetup::model::setup::{HostFacts, resolve};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use yaml_rust2::{Yaml, YamlLoader};
use zeroize::Zeroizing;

use crate::support::{nginx_test, require, run_promsetup};

const PASSWORD: &str = "a good password here";
const CRD: &str = "tests/data/prometheus-operator-v0.93.0-crd-prometheuses.yaml";
const CRD_CHECK: &str = "tests/data/validate_crd.py";

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A program of the CI venv, else (for kubernetes-validate) one on PATH; `None` (skip) when
/// missing outside CI, a failure under CI.
pub(crate) fn venv_program(name: &str, path_too: bool) -> Option<PathBuf> {
    let venv = std::env::var_os("PROMSETUP_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/opt/promsetup-ci-venv"));
    let candidate = venv.join("bin").join(name);
    if candidate.is_file() {
        return Some(candidate);
    }
    if path_too {
        return require(name);
    }
    require(&candidate.display().to_string())
}

fn generate(out: &Path, args: &[&str]) -> Output {
    let mut all = vec![
        "--non-interactive",
        "--password-stdin",
        "--domain",
        "example.com",
        "--out",
    ];
    let out_text = out.display().to_string();
    all.push(&out_text);
    all.extend_from_slice(args);
    run_promsetup(all, Some(&format!("{PASSWORD}\n")))
}

fn generated(out: &Path, args: &[&str]) {
    let output = generate(out, args);
    assert!(
        output.status.success(),
        "{args:?}: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

fn read(path: impl AsRef<Path>) -> String {
    fs::read_to_string(path.as_ref()).unwrap_or_else(|e| panic!("{}: {e}", path.as_ref().display()))
}

fn mode(path: impl AsRef<Path>) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn yaml_documents(text: &str) -> Vec<Yaml> {
    YamlLoader::load_from_str(text).unwrap_or_else(|e| panic!("not YAML ({e}):\n{text}"))
}

fn at<'a>(yaml: &'a Yaml, path: &str) -> &'a Yaml {
    path.split('.')
        .fold(yaml, |node, key| match key.parse::<usize>() {
            Ok(index) => &node[index],
            Err(_) => &node[key],
        })
}

fn text_at(yaml: &Yaml, path: &str) -> String {
    at(yaml, path)
        .as_str()
        .unwrap_or_else(|| panic!("{path} is not a string in {yaml:?}"))
        .to_string()
}

/// The shapes the Kubernetes tests run: (extra flags, what they change).
const KUBERNETES_SHAPES: &[&[&str]] = &[
    &[],
    &["--no-tls"],
    &["--prefix", "/", "--enable-lifecycle", "--enable-admin-api"],
    &[
        "--namespace",
        "observability",
        "--ingress-class",
        "nginx-internal",
        "--service",
        "prometheus-operated",
        "--prefix",
        "/ops/prom",
        "--realm",
        "Ops team #1: it's {ok}",
    ],
];

const MANIFESTS: &[&str] = &["auth-secret.yaml", "tls-secret.yaml", "ingress.yaml"];

#[test]
fn kubernetes_manifests_pass_kubernetes_validate_in_strict_mode() {
    let Some(validate) = venv_program("kubernetes-validate", true) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for (index, shape) in KUBERNETES_SHAPES.iter().enumerate() {
        let out = dir.path().join(format!("k{index}"));
        let mut args = vec!["--target", "kubernetes"];
        args.extend_from_slice(shape);
        generated(&out, &args);
        let files: Vec<PathBuf> = MANIFESTS
            .iter()
            .map(|name| out.join(name))
            .filter(|path| path.exists())
            .collect();
        let output = Command::new(&validate)
            .arg("--strict")
            .args(&files)
            .stdin(Stdio::null())
            .output()
            .expect("run kubernetes-validate");
        let report = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(output.status.success(), "{shape:?}:\n{report}");
        // A kind it has no schema for is only a warning: every resource must have passed.
        let resources: usize = files
            .iter()
            .map(|file| {
                yaml_documents(&read(file))
                    .iter()
                    .filter(|d| !d.is_null())
                    .count()
            })
            .sum();
        assert_eq!(
            report.matches(" passed for resource ").count(),
            resources,
            "{shape:?}:\n{report}"
        );
        assert!(!report.contains("Couldn't find schema"), "{report}");
    }

    // The validator is strict: a field the schema does not know fails it.
    let out = dir.path().join("k0");
    let tampered = dir.path().join("tampered.yaml");
    fs::write(
        &tampered,
        read(out.join("ingress.yaml")).replacen("ingressClassName:", "ingressClass:", 1),
    )
    .unwrap();
    let output = Command::new(&validate)
        .arg("--strict")
        .arg(&tampered)
        .output()
        .unwrap();
    assert!(!output.status.success(), "a wrong field passed");
}

#[test]
fn prometheus_patch_and_chart_values_validate_against_the_operators_crd() {
    let Some(python) = venv_program("python", false) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let check = |file: &Path, values: bool| {
        let mut command = Command::new(&python);
        command
            .arg(manifest_dir().join(CRD_CHECK))
            .arg(manifest_dir().join(CRD))
            .arg(file);
        if values {
            command.args(["--values-path", "prometheus.prometheusSpec"]);
        }
        command.stdin(Stdio::null()).output().expect("run python")
    };
    for (index, shape) in KUBERNETES_SHAPES.iter().enumerate() {
        let out = dir.path().join(format!("k{index}"));
        let mut args = vec!["--target", "kubernetes"];
        args.extend_from_slice(shape);
        generated(&out, &args);
        for (file, values) in [
            ("prometheus-patch.yaml", false),
            ("kube-prometheus-stack-values.yaml", true),
        ] {
            let output = check(&out.join(file), values);
            assert!(
                output.status.success(),
                "{shape:?} {file}:\n{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }
    // Strict: a misspelt field fails, in the patch and in the values.
    let out = dir.path().join("k0");
    for (file, values) in [
        ("prometheus-patch.yaml", false),
        ("kube-prometheus-stack-values.yaml", true),
    ] {
        let tampered = dir.path().join(format!("tampered-{file}"));
        fs::write(
            &tampered,
            read(out.join(file)).replacen("routePrefix:", "routePrefx:", 1),
        )
        .unwrap();
        assert!(!check(&tampered, values).status.success(), "{file}");
    }
}

#[test]
fn kubernetes_bundle_says_what_ingress_nginx_and_the_operator_need() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("k");
    generated(&out, &["--target", "kubernetes", "--prefix", "/ops/prom"]);

    // Secrets are 0600 and carry the bundle's own files under the keys ingress-nginx reads.
    for secret in [
        "auth-secret.yaml",
        "tls-secret.yaml",
        ".htpasswd",
        "example.com.key",
    ] {
        assert_eq!(mode(out.join(secret)), 0o600, "{secret}");
    }
    let decode = |text: String| {
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap()
    };
    let auth = &yaml_documents(&read(out.join("auth-secret.yaml")))[0];
    assert_eq!(text_at(auth, "type"), "Opaque");
    let htpasswd = decode(text_at(auth, "data.auth"));
    assert_eq!(htpasswd, fs::read(out.join(".htpasswd")).unwrap());
    let line = String::from_utf8(htpasswd).unwrap();
    let (user, hash) = line.trim_end().split_once(':').unwrap();
    assert_eq!(user, "admin");
    assert!(bcrypt::verify(PASSWORD, hash).unwrap());
    let tls = &yaml_documents(&read(out.join("tls-secret.yaml")))[0];
    assert_eq!(text_at(tls, "type"), "kubernetes.io/tls");
    assert_eq!(
        decode(tls["data"]["tls.crt"].as_str().unwrap().to_string()),
        fs::read(out.join("example.com.crt")).unwrap()
    );
    assert_eq!(
        decode(tls["data"]["tls.key"].as_str().unwrap().to_string()),
        fs::read(out.join("example.com.key")).unwrap()
    );

    let ingresses = yaml_documents(&read(out.join("ingress.yaml")));
    assert_eq!(ingresses.len(), 2);
    let main = &ingresses[0];
    let annotation = |ingress: &Yaml, key: &str| {
        ingress["metadata"]["annotations"][format!("nginx.ingress.kubernetes.io/{key}").as_str()]
            .as_str()
            .unwrap_or_else(|| panic!("no annotation {key}"))
            .to_string()
    };
    assert_eq!(annotation(main, "auth-type"), "basic");
    assert_eq!(
        annotation(main, "auth-secret"),
        text_at(auth, "metadata.name")
    );
    assert_eq!(annotation(main, "auth-realm"), "Prometheus");
    assert_eq!(annotation(main, "proxy-read-timeout"), "150");
    assert_eq!(text_at(main, "spec.ingressClassName"), "nginx");
    assert_eq!(text_at(main, "metadata.namespace"), "monitoring");
    assert_eq!(
        text_at(main, "spec.tls.0.secretName"),
        text_at(tls, "metadata.name")
    );
    assert_eq!(text_at(main, "spec.rules.0.host"), "example.com");
    assert_eq!(text_at(main, "spec.rules.0.http.paths.0.path"), "/ops/prom");
    assert_eq!(
        text_at(main, "spec.rules.0.http.paths.0.backend.service.name"),
        "kube-prometheus-stack-prometheus"
    );
    let blocked = &ingresses[1];
    assert_eq!(
        annotation(blocked, "denylist-source-range"),
        "0.0.0.0/0,::/0"
    );
    let paths: Vec<String> = at(blocked, "spec.rules.0.http.paths")
        .as_vec()
        .unwrap()
        .iter()
        .map(|path| text_at(path, "path"))
        .collect();
    assert_eq!(
        paths,
        [
            "/ops/prom/-/quit",
            "/ops/prom/-/reload",
            "/ops/prom/api/v1/admin"
        ]
    );

    // Prometheus serves the prefix itself: ingress-nginx does not strip it.
    let patch = &yaml_documents(&read(out.join("prometheus-patch.yaml")))[0];
    assert_eq!(
        text_at(patch, "spec.externalUrl"),
        "https://example.com/ops/prom/"
    );
    assert_eq!(text_at(patch, "spec.routePrefix"), "/ops/prom");
    assert_eq!(
        text_at(patch, "metadata.name"),
        "kube-prometheus-stack-prometheus"
    );
    let values = &yaml_documents(&read(out.join("kube-prometheus-stack-values.yaml")))[0];
    assert_eq!(
        text_at(values, "prometheus.prometheusSpec.routePrefix"),
        "/ops/prom"
    );
    assert_eq!(
        text_at(values, "prometheus.prometheusSpec.externalUrl"),
        "https://example.com/ops/prom/"
    );

    // The kustomization lists exactly the manifests, each of which exists.
    let kustomization = &yaml_documents(&read(out.join("kustomization.yaml")))[0];
    let resources: Vec<String> = kustomization["resources"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_string())
        .collect();
    assert_eq!(resources, MANIFESTS);
    assert!(resources.iter().all(|r| out.join(r).is_file()));
    assert!(!out.join("nginx.conf").exists() && !out.join("prometheus.flags").exists());

    // The same answers again change nothing: the hash and the pair are kept.
    let again = generate(
        &out,
        &["--target", "kubernetes", "--prefix", "/ops/prom", "--check"],
    );
    assert_eq!(
        again.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );
}

#[test]
fn kubernetes_refuses_what_it_cannot_do_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    for (args, reason) in [
        (&["--auth", "prometheus"][..], "no basic-auth users"),
        (&["--no-nginx"][..], "no basic-auth users"),
        (
            &["--conf-dir", "/srv/nginx"][..],
            "--conf-dir configure nginx on a host",
        ),
        (&["--namespace", "Monitoring"][..], "a Kubernetes name"),
    ] {
        let out = dir.path().join("refused");
        let mut all = vec!["--target", "kubernetes"];
        all.extend_from_slice(args);
        let output = generate(&out, &all);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(reason), "{args:?}: {stderr}");
        assert!(!out.exists(), "{args:?} wrote files");
    }
    let output = generate(&dir.path().join("n"), &["--namespace", "monitoring"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--target kubernetes"));
}

/// `nginx.conf` of a compose bundle with the container's paths pointed into the bundle folder,
/// the service name at loopback and the image's account by a name this host has.
fn nginx_conf_on_this_host(out: &Path) -> String {
    read(out.join("nginx.conf"))
        .replace("\"/etc/nginx/", &format!("\"{}/", out.display()))
        .replace(" /etc/nginx/", &format!(" {}/", out.display()))
        .replace("server prometheus:9090;", "server 127.0.0.1:9090;")
        .replace("user nginx;", "user nobody nogroup;")
}

#[test]
fn compose_file_passes_docker_compose_config_and_its_nginx_conf_passes_nginx_t() {
    let Some(docker_compose) = require("docker-compose") else {
        return;
    };
    let Some(_) = require("nginx") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for (index, shape) in [
        &[][..],
        &["--auth", "prometheus"][..],
        &["--no-tls", "--port", "8080"][..],
    ]
    .iter()
    .enumerate()
    {
        let out = dir.path().join(format!("c{index}"));
        let mut args = vec!["--target", "compose"];
        args.extend_from_slice(shape);
        generated(&out, &args);
        let compose_text = read(out.join("compose.yaml"));
        // No `$` at all: compose interpolates nothing, and no hash sits in the file.
        assert!(!compose_text.contains('$'), "{compose_text}");

        let output = Command::new(&docker_compose)
            .args(["--project-directory"])
            .arg(&out)
            .arg("-f")
            .arg(out.join("compose.yaml"))
            .arg("config")
            .stdin(Stdio::null())
            .output()
            .expect("run docker-compose");
        assert!(
            output.status.success(),
            "{shape:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let resolved = &yaml_documents(&String::from_utf8_lossy(&output.stdout))[0];
        let prometheus = &resolved["services"]["prometheus"];
        assert!(prometheus["ports"].is_badvalue(), "Prometheus is published");
        let command: Vec<&str> = prometheus["command"]
            .as_vec()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert_eq!(
            command,
            [
                "--config.file=/etc/prometheus/prometheus.yml",
                "--storage.tsdb.path=/prometheus",
                "@/etc/prometheus/prometheus.flags"
            ]
        );
        // Every file mounted from the bundle exists, at the path its configuration names.
        for service in ["nginx", "prometheus"] {
            for volume in resolved["services"][service]["volumes"].as_vec().unwrap() {
                let spec = volume.as_str().unwrap();
                let source = spec.split(':').next().unwrap();
                if source.starts_with('/') {
                    assert!(Path::new(source).is_file(), "{spec}");
                }
            }
        }
        let flags = read(out.join("prometheus.flags"));
        assert!(flags.contains("--web.listen-address=:9090\n"), "{flags}");
        assert!(flags.contains("--web.route-prefix=/\n"), "{flags}");
        let conf = read(out.join("nginx.conf"));
        // Through the keepalive upstream, whose server is the Prometheus service.
        assert!(
            conf.contains("server prometheus:9090;")
                && conf.contains("proxy_pass http://promsetup_prometheus/;"),
            "{conf}"
        );
        assert!(conf.contains("user nginx;"), "{conf}");

        let mapped = out.join("nginx-on-host.conf");
        fs::write(&mapped, nginx_conf_on_this_host(&out)).unwrap();
        let check = nginx_test(&mapped);
        assert!(
            check.status.success(),
            "{shape:?}: nginx -t: {}",
            String::from_utf8_lossy(&check.stderr)
        );
    }
    // The containers' accounts read what they must: gid 101 (nginx) for .htpasswd, 65534
    // (nobody) for web.yml and the self-scrape password, when promsetup runs as root.
    if crate::support::current_uid() == 0 {
        use std::os::unix::fs::MetadataExt;
        let htpasswd = fs::metadata(dir.path().join("c0/.htpasswd")).unwrap();
        assert_eq!((htpasswd.gid(), htpasswd.mode() & 0o777), (101, 0o640));
        let web = fs::metadata(dir.path().join("c1/web.yml")).unwrap();
        assert_eq!((web.gid(), web.mode() & 0o777), (65534, 0o640));
        let robot = fs::metadata(dir.path().join("c1/self-scrape.password")).unwrap();
        assert_eq!((robot.uid(), robot.mode() & 0o777), (65534, 0o600));
    }
}

// =============================================================================================
// The property: generated and hostile values never change the YAML's shape.

const HOSTILE: &[&str] = &[
    "\"",
    "'",
    "\n",
    "\nkind: Secret\n",
    "\n---\n",
    ": ",
    " #",
    "#",
    "\\",
    "\\\"",
    "${X}",
    "$",
    "{",
    "}",
    "[",
    "]",
    ",",
    "&a",
    "*a",
    "!!str",
    "|",
    ">",
    "\t",
    "\u{0}",
    "\u{85}",
    "\u{2028}",
    "\u{feff}",
    "%",
    "@",
    "`",
];

fn hostile(valid: BoxedStrategy<String>) -> BoxedStrategy<String> {
    let spliced = (
        valid.clone(),
        any::<prop::sample::Index>(),
        prop::sample::select(HOSTILE),
    )
        .prop_map(|(text, at, bad)| {
            let cut = text
                .char_indices()
                .map(|(i, _)| i)
                .chain([text.len()])
                .nth(at.index(text.chars().count() + 1))
                .unwrap_or(text.len());
            format!("{}{bad}{}", &text[..cut], &text[cut..])
        });
    prop_oneof![24 => valid, 2 => spliced, 1 => any::<String>()].boxed()
}

fn kube_name() -> BoxedStrategy<String> {
    "[a-z]([a-z0-9-]{0,20}[a-z0-9])?".boxed()
}

#[derive(Debug, Clone)]
struct Inputs {
    domain: String,
    prefix: String,
    realm: String,
    username: String,
    namespace: String,
    ingress_class: String,
    service: String,
    tls: bool,
    lifecycle: bool,
    admin_api: bool,
    compose: bool,
}

fn inputs() -> impl Strategy<Value = Inputs> {
    (
        (
            hostile(
                prop_oneof![
                    "[a-z][a-z0-9-]{0,10}(\\.[a-z][a-z0-9-]{0,10}){0,2}\\.[a-z]{2,6}",
                    "192\\.0\\.2\\.[1-9]",
                ]
                .boxed(),
            ),
            hostile("(/[A-Za-z0-9._~-]{1,8}){0,3}/?".boxed()),
            hostile(
                "[A-Za-z0-9!#%&'()*+,./:;<=>?@^_`{|}~-]([ A-Za-z0-9:#'{}-]{0,20}[A-Za-z0-9])?"
                    .boxed(),
            ),
            hostile("[A-Za-z0-9._@+][A-Za-z0-9._@+-]{0,12}".boxed()),
        ),
        (
            hostile(kube_name()),
            hostile(kube_name()),
            hostile(kube_name()),
        ),
        (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()),
    )
        .prop_map(
            |(
                (domain, prefix, realm, username),
                (namespace, ingress_class, service),
                (tls, lifecycle, admin_api, compose),
            )| Inputs {
                domain,
                prefix,
                realm,
                username,
                namespace,
                ingress_class,
                service,
                tls,
                lifecycle,
                admin_api,
                compose,
            },
        )
}

/// The tree with every scalar replaced by its kind: keys, item counts and documents stay.
fn shape(yaml: &Yaml) -> String {
    match yaml {
        Yaml::Hash(map) => {
            let entries: Vec<String> = map
                .iter()
                .map(|(key, value)| format!("{}={}", key.as_str().unwrap_or("?"), shape(value)))
                .collect();
            format!("{{{}}}", entries.join(","))
        }
        Yaml::Array(items) => format!(
            "[{}]",
            items.iter().map(shape).collect::<Vec<_>>().join(",")
        ),
        Yaml::String(_) => "s".into(),
        Yaml::Integer(_) => "i".into(),
        Yaml::Boolean(_) => "b".into(),
        other => format!("{other:?}"),
    }
}

/// A YAML file of a plan: the shape of each document, the documents, the text.
type Rendered = (Vec<String>, Vec<Yaml>, String);

/// Every YAML file of a plan by name.
fn rendered(given: Given) -> Result<BTreeMap<String, Rendered>, String> {
    let setup = resolve(given, &HostFacts::unknown()).map_err(|e| e.to_string())?;
    let password = Password::new(Zeroizing::new(PASSWORD.to_string())).unwrap();
    let plan = plan(
        &setup,
        &password,
        false,
        time::OffsetDateTime::now_utc(),
        &Templates::embedded(),
        &Existing::default(),
    )
    .map_err(|e| e.to_string())?;
    let mut files = BTreeMap::new();
    for artifact in &plan.artifacts {
        if artifact.file_name.ends_with(".yaml") {
            let text = String::from_utf8(artifact.contents.to_vec()).unwrap();
            let documents = YamlLoader::load_from_str(&text)
                .map_err(|e| format!("{}: not YAML: {e}\n{text}", artifact.file_name))?;
            files.insert(
                artifact.file_name.clone(),
                (documents.iter().map(shape).collect(), documents, text),
            );
        }
    }
    Ok(files)
}

fn given_for(inputs: &Inputs, baseline: bool) -> Result<Given, String> {
    fn parsed<T: std::str::FromStr>(text: &str) -> Result<T, String> {
        text.parse().map_err(|_| format!("refused: {text:?}"))
    }
    let mut given = Given {
        bcrypt_cost: Some("4".parse().unwrap()),
        tls: (!inputs.tls).then_some(TlsChoice::Off),
        deploy_target: Some(if inputs.compose {
            DeployTarget::Compose
        } else {
            DeployTarget::Kubernetes
        }),
        ..Given::default()
    };
    given.endpoints.lifecycle = inputs.lifecycle;
    given.endpoints.admin_api = inputs.admin_api;
    let domain: promsetup::model::values::Domain = parsed(&inputs.domain)?;
    if baseline {
        // Same shape: an IP address has no Ingress host; the root prefix is still a prefix.
        given.domain = Some(parsed(if domain.is_ip() {
            "192.0.2.1"
        } else {
            "example.com"
        })?);
        return Ok(given);
    }
    given.domain = Some(domain);
    given.prefix = Some(parsed(&inputs.prefix)?);
    given.realm = Some(parsed(&inputs.realm)?);
    given.username = Some(parsed(&inputs.username)?);
    if !inputs.compose {
        given.namespace = Some(parsed(&inputs.namespace)?);
        given.ingress_class = Some(parsed(&inputs.ingress_class)?);
        given.service = Some(parsed(&inputs.service)?);
    }
    Ok(given)
}

#[test]
fn no_value_adds_a_field_an_item_or_a_document_to_the_yaml() {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(96);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let accepted = std::sync::atomic::AtomicUsize::new(0);
    runner
        .run(&inputs(), |inputs| {
            let Ok(given) = given_for(&inputs, false) else {
                return Ok(()); // refused by a type: nothing rendered
            };
            let files = rendered(given).map_err(TestCaseError::fail)?;
            let baseline = rendered(given_for(&inputs, true).unwrap())
                .map_err(TestCaseError::fail)?;
            accepted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            prop_assert_eq!(
                files.keys().collect::<Vec<_>>(),
                baseline.keys().collect::<Vec<_>>()
            );
            for (name, (shapes, documents, _)) in &files {
                prop_assert_eq!(shapes, &baseline[name].0, "{} differs in shape", name);
                // And each value is where it belongs.
                if name == "ingress.yaml" {
                    let ingress = &documents[0];
                    let prefix: promsetup::model::values::UrlPrefix =
                        inputs.prefix.parse().unwrap();
                    prop_assert_eq!(
                        ingress["spec"]["rules"][0]["http"]["paths"][0]["path"].as_str(),
                        Some(prefix.as_str())
                    );
                    prop_assert_eq!(
                        ingress["metadata"]["namespace"].as_str(),
                        Some(inputs.namespace.as_str())
                    );
                    let realm = &ingress["metadata"]["annotations"]
                        ["nginx.ingress.kubernetes.io/auth-realm"];
                    prop_assert_eq!(realm.as_str(), Some(inputs.realm.as_str()));
                }
            }
            Ok(())
        })
        .unwrap();
    let accepted = accepted.into_inner();
    eprintln!("{accepted} of {cases} generated inputs were accepted and rendered");
    assert!(
        accepted * 4 >= cases as usize,
        "too few inputs were accepted: {accepted}"
    );
}

#[test]
fn the_shape_oracle_sees_what_an_unchecked_value_would_add() {
    let given = Given {
        domain: Some("example.com".parse().unwrap()),
        bcrypt_cost: Some("4".parse().unwrap()),
        deploy_target: Some(DeployTarget::Kubernetes),
        ..Given::default()
    };
    let files = rendered(given).unwrap();
    let (shapes, _, ingress_text) = &files["ingress.yaml"];
    let text =
        fs::read_to_string(manifest_dir().join("templates/kubernetes/ingress.yaml.tera")).unwrap();
    assert!(text.contains("\"{{ realm }}\""));
    // What the realm's rule keeps out, spliced in as if it had passed.
    let ingress = |realm: &str| {
        let rendered = ingress_text.replace("\"Prometheus\"", realm);
        YamlLoader::load_from_str(&rendered)
            .map(|docs| docs.iter().map(shape).collect::<Vec<_>>())
            .ok()
    };
    assert_eq!(ingress("\"Prometheus\"").as_ref(), Some(shapes));
    for injected in [
        "\"P\"\n    nginx.ingress.kubernetes.io/server-snippet: \"deny all;\"",
        "\"P\"\n---\nkind: \"Secret\"",
        "\"P\\\"\", \"x\": \"y\"",
    ] {
        assert_ne!(
            ingress(injected).as_ref(),
            Some(shapes),
            "{injected:?} not seen"
        );
    }
}

#[test]
fn role_vars_for_the_prometheus_collection_name_vault_variables_not_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("role");
    generated(&out, &["--auth", "prometheus", "--enable-lifecycle"]);
    let text = read(out.join("prometheus-role-vars.yml"));
    assert!(
        !text.contains("$2"),
        "a hash would be hashed again by the role:\n{text}"
    );
    assert!(!text.contains(PASSWORD));
    let vars = &yaml_documents(&text)[0];
    assert_eq!(
        text_at(vars, "prometheus_web_external_url"),
        "https://example.com/prometheus/"
    );
    assert_eq!(
        text_at(vars, "prometheus_web_listen_address"),
        "127.0.0.1:9090"
    );
    let flags = vars["prometheus_config_flags_extra"].as_hash().unwrap();
    let flags: Vec<(&str, &str)> = flags
        .iter()
        .map(|(k, v)| (k.as_str().unwrap(), v.as_str().unwrap()))
        .collect();
    // The role renders an empty value as a bare switch, and sets the other flags itself.
    assert_eq!(
        flags,
        [("web.route-prefix", "/"), ("web.enable-lifecycle", "")]
    );
    let users = &vars["prometheus_web_config"]["basic_auth_users"];
    assert_eq!(users["admin"].as_str(), Some("{{ promsetup_password }}"));
    assert_eq!(
        users["prometheus-self-scrape"].as_str(),
        Some("{{ promsetup_self_scrape_password }}")
    );
    assert!(
        vars["prometheus_web_config"]["tls_server_config"]
            .as_hash()
            .unwrap()
            .is_empty()
    );

    let alone = dir.path().join("alone");
    generated(&alone, &["--no-nginx"]);
    let vars = &yaml_documents(&read(alone.join("prometheus-role-vars.yml")))[0];
    assert_eq!(text_at(vars, "prometheus_web_listen_address"), ":9090");
    assert_eq!(
        text_at(vars, "prometheus_web_config.tls_server_config.key_file"),
        "/etc/prometheus/example.com.key"
    );
    assert!(
        vars["prometheus_config_flags_extra"]
            .as_hash()
            .unwrap()
            .is_empty()
    );

    let nginx_checks = dir.path().join("nginx");
    generated(&nginx_checks, &[]);
    assert!(!nginx_checks.join("prometheus-role-vars.yml").exists());
}
