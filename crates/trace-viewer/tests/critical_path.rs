//! The critical-path endpoints: on the fork-join fixture (a task waits for three workers
//! burning 10, 20 and 50 ms, so its path runs through `main.worker50`) the type's aggregate and
//! profile, and one task's path partitioning the task; on every critical-path fixture, the
//! paths of every type partition their instances (on the main fixtures, the slowest of each
//! type's); bad parameters are refused, never panic.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;
use trace_viewer::api::Query;
use trace_viewer::{Loaded, Server};

use common::{fixtures, load};

mod common;

fn fixture(version: &str, name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/critical-path")
        .join(version)
        .join(format!("{name}.trace"))
}

/// Every trace of `fixtures/critical-path/`, all Go versions.
fn all_fixtures() -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/critical-path");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("the critical-path fixtures")
        .filter_map(|version| std::fs::read_dir(version.expect("entry").path()).ok())
        .flatten()
        .map(|entry| entry.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "trace"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 10, "critical-path fixtures found: {}", paths.len());
    paths
}

fn fork_join() -> Loaded {
    load(&fixture("1.27.3", "fork-join"))
}

fn array(value: &Value) -> &Vec<Value> {
    value.as_array().unwrap_or_else(|| panic!("an array: {value}"))
}

fn int(value: &Value) -> i64 {
    value.as_i64().unwrap_or_else(|| panic!("an integer: {value}"))
}

fn get(loaded: &Loaded, what: &str, query: &str) -> Value {
    let q = Query::parse(query);
    let answer = match what {
        "type" => loaded.critical_path_type(&q),
        "one" => loaded.critical_path_one(&q),
        _ => unreachable!(),
    };
    answer.unwrap_or_else(|e| panic!("{what}?{query}: {}", e.0))
}

/// Checks that the segments of a path's answer follow each other from `start` to `end`
/// with no gap or overlap, and returns the sum of their durations.
fn check_partition(name: &str, path: &Value, start: i64, end: i64) -> i64 {
    let segments = array(&path["segments"]);
    assert!(!segments.is_empty(), "{name}: {path}");
    assert_eq!(int(&segments[0]["start"]), start, "{name}: the first segment starts the interval");
    assert_eq!(int(&segments[segments.len() - 1]["end"]), end, "{name}: the last segment ends it");
    for pair in segments.windows(2) {
        assert_eq!(pair[0]["end"], pair[1]["start"], "{name}: contiguous segments: {pair:?}");
    }
    let mut sum = 0;
    for s in segments {
        let duration = int(&s["duration"]);
        assert!(duration >= 0, "{name}: {s}");
        assert_eq!(int(&s["end"]) - int(&s["start"]), duration, "{name}: {s}");
        let category = s["category"].as_str().unwrap();
        assert!(
            ["running", "runnable", "syscall", "network", "timer", "gc", "unknown"].contains(&category),
            "{name}: {s}"
        );
        sum += duration;
    }
    sum
}

#[test]
fn fork_join_type_lists_one_task_whose_path_is_mostly_worker50() {
    let loaded = fork_join();
    let types = loaded.critical_path_types();
    let tasks = array(&types["tasks"]);
    let fork_join = tasks.iter().find(|t| t["name"] == "fork-join").unwrap_or_else(|| panic!("{types}"));
    assert_eq!(fork_join["count"], 1);
    assert_eq!(fork_join["median"], fork_join["max"]);
    assert!(int(&fork_join["median"]) > 45_000_000, "the task waits for a 50 ms worker: {fork_join}");

    let answer = get(&loaded, "type", "kind=task&type=fork-join");
    assert_eq!(answer["count"], 1, "{answer}");
    let instances = array(&answer["instances"]);
    assert_eq!(instances.len(), 1);
    let task = &instances[0];
    let id = int(&task["id"]);
    assert_eq!(task["cp"], format!("task:{id}"));
    assert_eq!(int(&task["duration"]), int(&task["end"]) - int(&task["start"]));
    assert_eq!(task["dominant"]["category"], "running", "{task}");
    let link = task["link"].as_str().unwrap();
    assert!(link.starts_with("#timeline?") && link.ends_with(&format!("&cp=task:{id}")), "{link}");

    let aggregate = &answer["aggregate"];
    assert_eq!(aggregate["count"], 1);
    assert_eq!(aggregate["slowest_count"], 1);
    assert_eq!(aggregate["median_duration"], task["duration"]);
    let groups = array(&aggregate["groups"]);
    assert_eq!(groups[0]["name"], "main.worker50", "the path runs through worker50: {groups:?}");
    let duration = int(&task["duration"]);
    assert!(int(&groups[0]["median"]) * 10 > duration * 9, "worker50 is most of the path: {groups:?}");
    assert!(!groups.iter().any(|g| g["name"] == "main.worker10" || g["name"] == "main.worker20"), "{groups:?}");
    let categories = array(&aggregate["categories"]);
    assert_eq!(categories.len(), 7);
    let median_sum: i64 = categories.iter().map(|c| int(&c["median"])).sum();
    assert_eq!(median_sum, duration, "one instance: the medians are its times, which add up to it");

    // The profile: roots are categories, under them the goroutine groups; it holds the path.
    let root = &answer["profile"]["root"];
    assert_eq!(answer["profile"]["unit"], "ns");
    assert_eq!(int(&root["value"]), duration);
    let running = array(&root["children"]).iter().find(|c| c["name"] == "critical path: running").expect("running");
    assert_eq!(array(&running["children"])[0]["name"], "goroutine group main.worker50", "{running}");
    let pprof = loaded.critical_path_pprof(&Query::parse("kind=task&type=fork-join")).unwrap();
    let records = trace_analysis::pprof::decode(&pprof).unwrap();
    assert_eq!(records.iter().map(|r| r.time).sum::<i64>(), duration);
}

#[test]
fn one_task_path_partitions_the_task_interval() {
    let loaded = fork_join();
    let listed = get(&loaded, "type", "kind=task&type=fork-join");
    let id = int(&listed["instances"][0]["id"]);
    let tasks = loaded.tasks(&Query::parse("type=fork-join")).unwrap();
    let task = &array(&tasks["tasks"])[0];
    assert_eq!(int(&task["id"]), id);

    let path = get(&loaded, "one", &format!("task={id}"));
    assert_eq!(path["kind"], "task");
    assert_eq!(path["name"], "fork-join");
    assert_eq!(path["cp"], format!("task:{id}"));
    let (start, end) = (int(&task["start"]), int(&task["end"]));
    assert_eq!((int(&path["start"]), int(&path["end"])), (start, end), "the path covers the task");
    let sum = check_partition("fork-join", &path, start, end);
    assert_eq!(sum, int(&task["duration"]), "the segments add up to the task's duration");
    let segments = array(&path["segments"]);
    assert_eq!(int(&path["segment_count"]), segments.len() as i64);
    let worker: Vec<&Value> = segments.iter().filter(|s| s["function"] == "main.worker50").collect();
    let on_worker: i64 = worker.iter().map(|s| int(&s["duration"])).sum();
    assert!(on_worker * 10 > sum * 9, "most of the path is worker50's: {path}");
    assert!(worker.iter().all(|s| int(&s["depth"]) == 1), "one hop from main");
    assert!(segments.iter().all(|s| s["count"] == 1 && s["edge"].is_string() && s["relation"].is_string()));
    let stacked = segments.iter().filter(|s| !array(&s["stack"]).is_empty()).count();
    assert!(stacked * 2 >= segments.len(), "segments have stacks, resolved to frames: {path}");
    assert!(array(&segments[0]["stack"]).iter().all(|f| f["func"].is_string() && f["line"].is_u64()));
    // The goroutine that ends the task is main, whose wait worker50 ended.
    assert_eq!(path["function"], "main.main");
    let hops = array(&path["hops"]);
    let worker_id = worker[0]["goroutine"].clone();
    assert!(
        hops.iter().any(|h| h["cause"] == worker_id && h["waiter"] == path["goroutine"] && h["edge"] == "unblocked"),
        "worker50 unblocked main: {hops:?}"
    );
    for h in hops {
        assert!(int(&h["blocked_at"]) <= int(&h["unblocked_at"]), "{h}");
        assert!(start <= int(&h["unblocked_at"]) && int(&h["unblocked_at"]) <= end, "{h}");
    }
    let categories: i64 = array(&path["categories"]).iter().map(|c| int(&c["time"])).sum();
    assert_eq!(categories, sum);

    // A window at a few pixels merges short segments and still covers it exactly.
    let coarse = get(&loaded, "one", &format!("task={id}&width=4"));
    let coarse_sum = check_partition("fork-join at 4 px", &coarse, start, end);
    assert_eq!(coarse_sum, sum);
    assert!(array(&coarse["segments"]).len() < segments.len(), "{coarse}");
    assert!(array(&coarse["segments"]).iter().any(|s| int(&s["count"]) > 1), "{coarse}");
    let counted: i64 = array(&coarse["segments"]).iter().map(|s| int(&s["count"])).sum();
    assert_eq!(counted, segments.len() as i64, "every segment is in one piece");
    // A window over the second half has only the segments that reach into it.
    let mid = (start + end) / 2;
    let half = get(&loaded, "one", &format!("task={id}&from={mid}&to={end}&width=1000"));
    let half_segments = array(&half["segments"]);
    assert!(int(&half_segments[0]["start"]) <= mid && int(&half_segments[0]["end"]) > mid, "{half}");
    assert!(half_segments.len() < segments.len());

    // The same interval as a goroutine's: the same partition of time.
    let goroutine = int(&path["goroutine"]);
    let of_goroutine = get(&loaded, "one", &format!("goroutine={goroutine}&start={start}&end={end}"));
    assert_eq!(of_goroutine["kind"], "goroutine");
    assert_eq!(of_goroutine["cp"], format!("goroutine:{goroutine}:{start}:{end}"));
    assert_eq!(check_partition("fork-join as a goroutine", &of_goroutine, start, end), sum);

    // Clicking the task in the timeline's task lane names its ID, for the page to draw its path.
    let t = &loaded.timeline;
    let lane = t.lanes.iter().position(|l| matches!(l.key, trace_viewer::timeline::LaneKey::Tasks(_))).unwrap();
    let details = loaded.details(&Query::parse(&format!("lane={lane}&t={mid}"))).unwrap();
    assert_eq!(details["what"], "task");
    assert_eq!(int(&details["task"]), id, "{details}");
}

#[test]
fn bad_parameters_are_refused() {
    let loaded = fork_join();
    let id = int(&get(&loaded, "type", "kind=task&type=fork-join")["instances"][0]["id"]);
    for query in [
        "",
        "kind=task",
        "type=fork-join",
        "kind=bogus&type=fork-join",
        "kind=task&type=no-such-type",
        "kind=region&type=fork-join",
    ] {
        assert!(loaded.critical_path_type(&Query::parse(query)).is_err(), "type?{query}");
        assert!(loaded.critical_path_pprof(&Query::parse(query)).is_err(), "pprof?{query}");
    }
    let task = format!("task={id}");
    for query in [
        "",
        "task=",
        "task=abc",
        "task=-1",
        "task=99999999",
        "task=18446744073709551616",
        "region=0",
        "region=-1",
        "region=99999999999999999999",
        "goroutine=",
        "goroutine=x",
        "goroutine=99999",
        "goroutine=1&start=5000000&end=5000000",
        "goroutine=1&start=9000000&end=5000000",
        "goroutine=1&start=abc",
        &format!("{task}&region=0"),
        &format!("{task}&goroutine=1"),
        &format!("{task}&width=0"),
        &format!("{task}&width=20001"),
        &format!("{task}&width=x"),
        &format!("{task}&width=10&from=5000000&to=4000000"),
        &format!("{task}&width=10&from=abc"),
    ] {
        assert!(loaded.critical_path_one(&Query::parse(query)).is_err(), "one?{query}");
    }
    // Numbers at the ends of their range are clamped, not overflowed.
    for query in [
        "goroutine=1&start=-9223372036854775808&end=9223372036854775807".to_owned(),
        format!("{task}&width=20000&from=-9223372036854775808&to=9223372036854775807"),
        "goroutine=-9223372036854775808".to_owned(),
    ] {
        let _ = loaded.critical_path_one(&Query::parse(&query));
    }
    let whole = get(&loaded, "one", "goroutine=1&start=-9223372036854775808&end=9223372036854775807");
    let (start, end) = (int(&whole["start"]), int(&whole["end"]));
    assert!(start >= 0 && end <= loaded.timeline.end - loaded.timeline.start, "clamped to the trace: {start}..{end}");
}

#[test]
fn the_server_routes_the_endpoints_and_answers_bad_requests_with_400() {
    let loaded = Arc::new(fork_join());
    let server = Server::start(loaded, "127.0.0.1:0".parse().unwrap(), "t0k3n".into()).unwrap();
    let base = format!("http://{}", server.addr());
    let status = |path: &str| match ureq::get(&format!("{base}{path}")).call() {
        Ok(r) => r.status(),
        Err(ureq::Error::Status(code, _)) => code,
        Err(e) => panic!("{path}: {e}"),
    };
    let types: Value =
        ureq::get(&format!("{base}/api/critical-path/types?token=t0k3n")).call().unwrap().into_json().unwrap();
    assert!(array(&types["tasks"]).iter().any(|t| t["name"] == "fork-join"), "{types}");
    assert_eq!(status("/api/critical-path?token=t0k3n&kind=task&type=fork-join"), 200);
    assert_eq!(status("/api/critical-path/pprof?token=t0k3n&kind=task&type=fork-join"), 200);
    assert_eq!(status("/api/critical-path?token=t0k3n&kind=task&type=nope"), 400);
    assert_eq!(status("/api/critical-path?token=t0k3n&kind=nope&type=fork-join"), 400);
    assert_eq!(status("/api/critical-path/one?token=t0k3n"), 400);
    assert_eq!(status("/api/critical-path/one?token=t0k3n&task=x"), 400);
    assert_eq!(status("/api/critical-path/one?token=t0k3n&goroutine=1&start=-9223372036854775808"), 200);
    assert_eq!(status("/api/critical-path/one?kind=task&type=fork-join"), 403, "the token is required");
    server.stop();
}

#[test]
fn every_fixture_type_has_paths_that_partition_its_instances() {
    let mut checked = 0;
    for path in all_fixtures() {
        let name = path.display().to_string();
        let loaded = load(&path);
        let types = loaded.critical_path_types();
        for (kind, list) in [("task", "tasks"), ("region", "regions")] {
            for t in array(&types[list]) {
                let type_name = t["name"].as_str().unwrap();
                let answer = get(&loaded, "type", &format!("kind={kind}&type={}", encode(type_name)));
                let instances = array(&answer["instances"]);
                assert_eq!(int(&answer["count"]), int(&t["count"]), "{name}: {kind} {type_name}");
                let total: i64 = instances.iter().map(|i| int(&i["duration"])).sum();
                assert_eq!(int(&answer["profile"]["root"]["value"]), total, "{name}: {type_name}: the profile");
                let slowest = instances.windows(2).all(|w| int(&w[0]["duration"]) >= int(&w[1]["duration"]));
                assert!(slowest, "{name}: the slowest first");
                for i in instances {
                    let cp = i["cp"].as_str().unwrap();
                    let (target, id) = cp.split_once(':').unwrap();
                    assert_eq!(target, kind);
                    let one = get(&loaded, "one", &format!("{target}={id}"));
                    let sum = check_partition(&name, &one, int(&i["start"]), int(&i["end"]));
                    assert_eq!(sum, int(&i["duration"]), "{name}: {cp}");
                    checked += 1;
                }
            }
        }
    }
    assert!(checked >= 40, "{checked} instances checked");
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

#[test]
fn on_every_committed_fixture_the_slowest_instance_of_each_type_has_a_partitioning_path() {
    for path in fixtures() {
        let name = path.display().to_string();
        let loaded = load(&path);
        let types = loaded.critical_path_types();
        for (kind, list) in [("task", "tasks"), ("region", "regions")] {
            for t in array(&types[list]) {
                let type_name = t["name"].as_str().unwrap();
                let answer = get(&loaded, "type", &format!("kind={kind}&type={}", encode(type_name)));
                assert_eq!(int(&answer["count"]), int(&t["count"]), "{name}: {kind} {type_name}");
                assert_eq!(answer["instances"][0]["duration"], t["max"], "{name}: {kind} {type_name}");
                let slowest = &answer["instances"][0];
                let (target, id) = slowest["cp"].as_str().unwrap().split_once(':').unwrap();
                let one = get(&loaded, "one", &format!("{target}={id}&width=800"));
                let sum = check_partition(&name, &one, int(&slowest["start"]), int(&slowest["end"]));
                assert_eq!(sum, int(&slowest["duration"]), "{name}: {kind} {type_name}");
                assert!(array(&one["segments"]).len() <= 2 * 800 + 2, "{name}: merged below a pixel");
            }
        }
    }
}
