//! `gotrace view` in a real browser: headless Chromium driven through chromedriver's WebDriver
//! protocol loads the timeline of a committed fixture, waits for it to draw, clicks a span,
//! opens every analysis page, and saves screenshots under `target/screenshots/` for people to
//! look at; on a critical-path fixture, the critical-path page and the timeline's path row. Also the server as a browser meets it: loopback only, the token required, nothing
//! outside its own assets and endpoints, concurrent requests.
//!
//! Without chromedriver and Chromium the browser test is skipped with a loud message, unless
//! `GOTRACE_REQUIRE_BROWSER=1` (set by `.ci/run`) makes their absence a failure.

#[path = "support/webdriver.rs"]
mod webdriver;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use webdriver::{Guard, WebDriver};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/traces/1.27.3/allevents.trace")
}

fn screenshots_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).expect("the screenshot directory can be made");
    dir
}

/// `gotrace view --no-open` on `trace`, with the URL it printed.
fn start_viewer(trace: &Path, extra: &[&str]) -> (Guard, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gotrace"))
        .arg("view")
        .arg("--no-open")
        .args(extra)
        .arg(trace)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("gotrace runs");
    let stdout = child.stdout.take().expect("stdout is piped");
    let guard = Guard(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("gotrace view prints its URL");
    let url =
        line.split_whitespace().find(|w| w.starts_with("http://")).unwrap_or_else(|| panic!("no URL in {line:?}"));
    (guard, url.to_owned())
}

fn base_and_token(url: &str) -> (String, String) {
    let (base, token) = url.split_once("/?token=").expect("the URL carries a token");
    (base.to_owned(), token.to_owned())
}

fn status(url: &str) -> u16 {
    match ureq::get(url).call() {
        Ok(response) => response.status(),
        Err(ureq::Error::Status(code, _)) => code,
        Err(error) => panic!("{url}: {error}"),
    }
}

#[test]
fn server_binds_loopback_and_refuses_what_it_should() {
    let (_viewer, url) = start_viewer(&fixture(), &[]);
    let (base, token) = base_and_token(&url);
    assert!(base.starts_with("http://127.0.0.1:"), "by default only loopback: {base}");
    assert_ne!(base, "http://127.0.0.1:0");
    assert_eq!(status(&format!("{base}/?token={token}")), 200);
    assert_eq!(status(&format!("{base}/api/info?token={token}")), 200);
    assert_eq!(status(&format!("{base}/")), 403, "no token");
    assert_eq!(status(&format!("{base}/api/info?token=0123456789abcdef0123456789abcdef")), 403, "wrong token");
    assert_eq!(status(&format!("{base}/api/info?token={}", &token[..token.len() - 1])), 403, "truncated token");
    for path in
        ["/Cargo.toml", "/../Cargo.toml", "/%2e%2e/%2e%2e/Cargo.toml", "/assets/../src/lib.rs", "/etc/passwd", "/api"]
    {
        assert_eq!(status(&format!("{base}{path}?token={token}")), 404, "{path} is not served");
    }
    let post = ureq::post(&format!("{base}/api/info?token={token}")).send_string("");
    assert!(matches!(post, Err(ureq::Error::Status(405, _))), "only GET: {post:?}");
    assert_eq!(status(&format!("{base}/api/window?token={token}&lanes=999999")), 400, "unknown lane");
    assert_eq!(status(&format!("{base}/api/window?token={token}&width=0")), 400, "empty window");
    // Numbers at the ends of their range get an answer, not a dropped connection.
    for path in [
        "/api/window?lanes=0&start=-9223372036854775808&end=9223372036854775807&width=10",
        "/api/details?lane=0&t=9223372036854775807&tol=9223372036854775807",
        "/api/range?start=-9223372036854775808&end=9223372036854775807",
        "/api/tasks?type=&bucket=9223372036854775807",
        "/api/regions?type=&bucket=-9223372036854775808",
        "/api/mmu-worst?window=9223372036854775807",
    ] {
        let code = status(&format!("{base}{path}&token={token}"));
        assert!(code == 200 || code == 400, "{path}: {code}");
    }
}

#[test]
fn concurrent_window_requests_get_the_same_answers() {
    let (_viewer, url) = start_viewer(&fixture(), &[]);
    let (base, token) = base_and_token(&url);
    let lanes: Value =
        ureq::get(&format!("{base}/api/lanes?token={token}&view=goroutine")).call().unwrap().into_json().unwrap();
    let ids: Vec<String> = lanes["lanes"].as_array().unwrap().iter().map(|l| l["id"].to_string()).collect();
    let window = format!("{base}/api/window?token={token}&width=800&lanes={}", ids.join(","));
    let expected = ureq::get(&window).call().unwrap().into_string().unwrap();
    assert!(expected.len() > 1000, "the window holds spans: {}", &expected[..expected.len().min(200)]);
    let answers: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| {
                    (0..10).map(|_| ureq::get(&window).call().unwrap().into_string().unwrap()).collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(answers.len(), 80);
    assert!(answers.iter().all(|a| *a == expected), "every concurrent answer equals the sequential one");
}

/// Starts chromedriver and a headless Chromium session, or says why not: a loud skip, or a
/// failure when `GOTRACE_REQUIRE_BROWSER=1`.
fn start_browser() -> Option<(Guard, WebDriver)> {
    match webdriver::start_browser() {
        Ok(browser) => Some(browser),
        Err(why) => {
            let message = format!("the browser test of `gotrace view` did NOT run: {why}");
            let required = std::env::var("GOTRACE_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
            assert!(!required, "{message}");
            eprintln!("\n!!!!!!!! SKIPPED: {message}\n");
            None
        }
    }
}

/// Saves a screenshot of the page under `target/screenshots/`.
fn screenshot(browser: &WebDriver, name: &str) -> PathBuf {
    let path = screenshots_dir().join(name);
    std::fs::write(&path, browser.screenshot_png()).expect("the screenshot is written");
    eprintln!("screenshot: {}", path.display());
    path
}

#[test]
fn timeline_and_analysis_pages_draw_in_chromium() {
    let Some((_driver_process, browser)) = start_browser() else { return };
    let (_viewer, url) = start_viewer(&fixture(), &[]);

    // The proc view: counters, GC and the procs' lanes with the goroutines they ran.
    browser.go(&format!("{url}#timeline?view=proc"));
    browser.wait_for("document.body.dataset.draws", "the proc timeline to draw");
    let lanes: Vec<String> =
        serde_json::from_str(browser.script("return document.body.dataset.drawnLanes").as_str().unwrap()).unwrap();
    for lane in ["GC", "STW", "Proc 0", "Proc 1"] {
        assert!(lanes.iter().any(|l| l == lane), "lane {lane} is drawn: {lanes:?}");
    }
    let on_proc = browser.wait_for("gotraceTimeline.spanPosition('Proc 0', 2)", "a span on Proc 0");
    assert_eq!(on_proc["kind"], json!(0), "procs run goroutines: {on_proc}");
    screenshot(&browser, "timeline-proc.png");

    // The goroutine view: main.main's lane, with spans; clicking one shows its details.
    browser.go(&format!("{url}#timeline?view=goroutine"));
    browser.wait_for("document.body.dataset.draws", "the goroutine timeline to draw");
    let lanes: Vec<String> =
        serde_json::from_str(browser.script("return document.body.dataset.drawnLanes").as_str().unwrap()).unwrap();
    assert!(lanes.iter().any(|l| l == "G1 main.main"), "main.main's lane is drawn: {lanes:?}");
    let span = browser.wait_for("gotraceTimeline.spanPosition('G1 main.main', 4)", "a span on G1's lane");
    screenshot(&browser, "timeline-goroutine.png");
    browser.click_at("#timeline-canvas", span["x"].as_f64().unwrap(), span["y"].as_f64().unwrap());
    let table = browser.wait_for(
        "document.getElementById('details-table') && document.getElementById('details-table').innerText",
        "the details panel",
    );
    let table = table.as_str().unwrap();
    assert!(table.contains("G1 main.main"), "the details name the goroutine: {table}");
    assert!(table.contains("duration"), "the details give times: {table}");
    let kind = ["running", "runnable", "waiting", "syscall", "undetermined"][span["kind"].as_u64().unwrap() as usize];
    assert!(table.contains(kind), "the clicked span is a {kind} span: {table}");
    screenshot(&browser, "timeline-details.png");

    // Focus on a goroutine: its lane and those of the goroutines that unblocked it.
    browser.go(&format!("{url}#timeline?view=goroutine&focus=1"));
    browser.wait_for("document.body.dataset.draws", "the focused timeline");
    let lanes: Vec<String> =
        serde_json::from_str(browser.script("return document.body.dataset.drawnLanes").as_str().unwrap()).unwrap();
    assert!(lanes.iter().any(|l| l == "G1 main.main"), "{lanes:?}");
    assert!(
        lanes.iter().filter(|l| l.starts_with('G') && l[1..].starts_with(|c: char| c.is_ascii_digit())).count() > 1,
        "the goroutines that unblocked G1 are shown: {lanes:?}"
    );

    // The goroutine groups, and one group with each goroutine's breakdown linking to its lane.
    browser.go(&format!("{url}#goroutines"));
    browser.wait_for("document.body.dataset.page === 'goroutines'", "the goroutine groups page");
    let text = browser.script("return document.getElementById('groups-table').innerText");
    assert!(text.as_str().unwrap().contains("main.main"), "{text}");
    screenshot(&browser, "goroutine-groups.png");
    browser.script(
        "for (const a of document.querySelectorAll('#groups-table a')) if (a.textContent === 'main.mutexes.func1') a.click();",
    );
    browser.wait_for("document.body.dataset.page === 'goroutine-group'", "a goroutine group's page");
    let text = browser.script("return document.getElementById('group-table').innerText");
    let text = text.as_str().unwrap();
    for column in ["Execution", "Network wait", "Sync block", "Blocking syscall", "Scheduler wait", "GC sweeping"] {
        assert!(text.contains(column), "column {column}: {text}");
    }
    let lane_link = browser.script("return document.querySelector('#group-table td a').getAttribute('href')");
    let lane_link = lane_link.as_str().unwrap();
    assert!(lane_link.starts_with("#timeline?view=goroutine&focus="), "{lane_link}");
    screenshot(&browser, "goroutine-group.png");
    let profile =
        browser.script("return document.querySelector('.profiles a[href*=\"kind=sched\"]').getAttribute('href')");
    browser.go(&format!("{url}{}", profile.as_str().unwrap()));
    browser.wait_for("document.body.dataset.page === 'flame' && document.body.dataset.frames", "the group's profile");
    let title = browser.script("return document.querySelector('.toolbar b').textContent");
    assert!(title.as_str().unwrap().contains("main.mutexes.func1"), "the profile is the group's: {title}");
    browser.go(&format!("{url}#goroutines?group=main.mutexes.func1"));
    browser.wait_for("document.body.dataset.page === 'goroutine-group'", "the group's page again");
    browser.script("document.querySelector('#group-table td a').click()");
    let lanes = browser.wait_for("document.body.dataset.drawnLanes", "the goroutine's lane");
    assert!(lanes.as_str().unwrap().contains("main.mutexes"), "{lanes}");

    // Tasks by type with histograms; a bucket lists its tasks with their events.
    browser.go(&format!("{url}#tasks"));
    browser.wait_for("document.body.dataset.page === 'tasks'", "the task page");
    let text = browser.script("return document.getElementById('tasks-table').innerText");
    assert!(text.as_str().unwrap().contains("\"allevents\""), "{text}");
    browser.script("document.querySelector('#tasks-table tr.bucket').click()");
    let listed = browser.wait_for("document.body.dataset.instances", "a bucket's tasks");
    assert!(listed.as_str().unwrap().parse::<usize>().unwrap() >= 1, "{listed}");
    let hash = browser.script("return location.hash");
    assert!(hash.as_str().unwrap().contains("bucket="), "the bucket is in the URL: {hash}");
    let text = browser.script("return document.getElementById('instances-table').innerText");
    assert!(text.as_str().unwrap().contains("task end"), "the task's events are listed: {text}");
    screenshot(&browser, "tasks.png");
    browser.script("document.querySelector('#instances-table tr.instance a').click()");
    let lanes = browser.wait_for("document.body.dataset.drawnLanes", "the task's goroutine in the timeline");
    assert!(lanes.as_str().unwrap().contains("G1 main.main"), "{lanes}");

    // Regions by type, and the regions of one type.
    browser.go(&format!("{url}#regions"));
    browser.wait_for("document.body.dataset.page === 'regions'", "the region page");
    browser.script(
        "for (const r of document.querySelectorAll('#regions-table tr')) \
           if (r.innerText.includes('\"mutex\"')) r.querySelector('tr.bucket').click();",
    );
    browser.wait_for("document.body.dataset.instances", "a bucket's regions");
    let text = browser.script("return document.getElementById('instances-table').innerText");
    assert!(text.as_str().unwrap().contains("G1"), "the mutex region ran on main: {text}");
    screenshot(&browser, "regions.png");

    // The MMU curve; a click on it lists the worst windows of that size.
    browser.go(&format!("{url}#mmu"));
    let points = browser.wait_for("document.body.dataset.mmuPoints", "the MMU curve");
    assert_eq!(points, json!("100"), "Go's 100 window sizes");
    let size =
        browser.script("const c = document.getElementById('mmu-canvas'); return [c.clientWidth, c.clientHeight]");
    let (width, height) = (size[0].as_f64().unwrap(), size[1].as_f64().unwrap());
    browser.click_at("#mmu-canvas", width * 0.6, height / 2.0);
    let worst = browser.wait_for("document.body.dataset.mmuWorst", "the worst windows");
    assert!(worst.as_str().unwrap().parse::<usize>().unwrap() >= 1, "{worst}");
    let link = browser.script("return document.querySelector('#mmu-worst-table a').getAttribute('href')");
    assert!(link.as_str().unwrap().starts_with("#timeline?view=proc&start="), "{link}");
    screenshot(&browser, "mmu.png");
    browser.script("document.querySelector('#mmu-worst-table a').click()");
    let lanes = browser.wait_for("document.body.dataset.drawnLanes", "the worst window in the timeline");
    assert!(lanes.as_str().unwrap().contains("Proc 0"), "{lanes}");
    browser.go(&format!("{url}#mmu"));
    browser.wait_for("document.body.dataset.mmuPoints", "the MMU curve again");
    browser.script("document.getElementById('mmu-sweep').click()");
    browser.wait_for("location.hash.includes('sweep') && document.body.dataset.mmuPoints", "the curve with sweeping");

    // Each profile as a flame graph.
    for kind in ["sched", "sync", "syscall", "network", "cpu"] {
        browser.go(&format!("{url}#flame?kind={kind}"));
        let frames =
            browser.wait_for("document.body.dataset.page === 'flame' && document.body.dataset.frames", "a flame graph");
        let frames: usize = frames.as_str().unwrap().parse().unwrap();
        assert!(frames >= 1, "{kind}: the root at least");
        if kind == "sched" {
            assert!(frames > 10, "the scheduler-latency profile of this fixture has many frames: {frames}");
        }
        if kind != "cpu" {
            let href = browser.script("return document.getElementById('pprof-link').href");
            let pprof = ureq::get(href.as_str().unwrap()).call().expect("the pprof download is served");
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut pprof.into_reader(), &mut bytes).unwrap();
            assert!(bytes.starts_with(&[0x1f, 0x8b]), "{kind}: a gzipped pprof file");
        }
        screenshot(&browser, &format!("flame-{kind}.png"));
    }
}

#[test]
fn findings_page_lists_the_findings_with_links_to_the_timeline() {
    let Some((_driver_process, browser)) = start_browser() else { return };
    let trace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/traces/1.27.3/shutdown.trace");
    let (_viewer, url) = start_viewer(&trace, &[]);
    browser.go(&format!("{url}#findings"));
    browser.wait_for("document.body.dataset.page === 'findings'", "the findings page");
    let first = browser.script("return document.querySelector('#findings li').innerText");
    let first = first.as_str().unwrap();
    assert!(
        first.contains("http-shutdown-waits-for-idle-connections") && first.contains("ReadHeaderTimeout"),
        "{first}"
    );
    assert_eq!(
        browser.script("return document.querySelector('#findings li').dataset.kind"),
        json!("http-shutdown-waits-for-idle-connections")
    );
    screenshot(&browser, "findings.png");
    // Its link opens the timeline on the connection's goroutine over the shutdown.
    browser.script("document.querySelector('#findings li .finding-link').click()");
    browser.wait_for("document.body.dataset.draws", "the timeline of the finding");
    let hash = browser.script("return location.hash");
    assert!(hash.as_str().unwrap().starts_with("#timeline?view=goroutine&start="), "{hash}");
    assert!(hash.as_str().unwrap().contains("&focus="), "{hash}");
    let lanes = browser.script("return document.body.dataset.drawnLanes");
    assert!(lanes.as_str().unwrap().contains("net/http.(*conn).serve"), "{lanes}");
}

#[test]
fn critical_path_page_and_timeline_row_draw_in_chromium() {
    let Some((_driver_process, browser)) = start_browser() else { return };
    let trace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/critical-path/1.27.3/fork-join.trace");
    let (_viewer, url) = start_viewer(&trace, &[]);

    // The types with critical paths, each linking to its page.
    browser.go(&format!("{url}#critical"));
    browser.wait_for("document.body.dataset.page === 'critical-types'", "the critical-path types");
    let text = browser.script("return document.getElementById('cp-task-types').innerText");
    assert!(text.as_str().unwrap().contains("\"fork-join\""), "{text}");
    screenshot(&browser, "critical-path-types.png");

    // The task type's page: the aggregate, the groups (worker50 first), the path profile's
    // flame graph and the one instance.
    browser.script("document.querySelector('#cp-task-types a').click()");
    let frames = browser.wait_for(
        "document.body.dataset.page === 'critical' && document.body.dataset.frames",
        "the critical-path page of fork-join",
    );
    assert!(frames.as_str().unwrap().parse::<usize>().unwrap() >= 4, "categories, groups and stacks: {frames}");
    assert_eq!(browser.script("return location.hash"), json!("#critical?kind=task&type=fork-join"));
    let groups = browser.script("return document.querySelector('#cp-groups tr:nth-child(2)').innerText");
    assert!(groups.as_str().unwrap().starts_with("main.worker50"), "worker50 is most of the path: {groups}");
    let categories = browser.script("return document.getElementById('cp-categories').innerText");
    assert!(categories.as_str().unwrap().contains("running"), "{categories}");
    assert_eq!(browser.script("return document.body.dataset.instances"), json!("1"));
    screenshot(&browser, "critical-path-page.png");

    // Its instance opens the timeline with the path's row drawn.
    let link = browser.script("return document.querySelector('#cp-instances tr.instance a').getAttribute('href')");
    let link = link.as_str().unwrap().to_owned();
    assert!(link.starts_with("#timeline?") && link.contains("&cp=task:"), "{link}");
    browser.script("document.querySelector('#cp-instances tr.instance a').click()");
    browser.wait_for("document.body.dataset.cpSegments && document.body.dataset.draws", "the critical-path row");
    let title = browser.script("return document.getElementById('cp-title').textContent");
    assert!(title.as_str().unwrap().contains("\"fork-join\""), "{title}");
    let lanes = browser.script("return document.body.dataset.drawnLanes");
    assert!(lanes.as_str().unwrap().contains("main.worker50"), "{lanes}");
    let widest = browser.wait_for("gotraceTimeline.pathPosition()", "a segment of the path");
    assert_eq!(widest["category"], json!("running"), "{widest}");
    browser.click_at("#timeline-canvas", widest["x"].as_f64().unwrap(), widest["y"].as_f64().unwrap());
    let details = browser.wait_for(
        "document.getElementById('details-title').textContent.startsWith('critical path') && \
         document.getElementById('details-table').innerText",
        "the details of a segment of the path",
    );
    let details = details.as_str().unwrap();
    assert!(details.contains("main.worker50") && details.contains("running"), "{details}");
    screenshot(&browser, "critical-path-row.png");

    // Selecting the task in its lane draws its path too, and puts it in the URL.
    browser.go(&format!("{url}#timeline?view=goroutine"));
    browser.wait_for("document.body.dataset.draws", "the goroutine timeline");
    assert_eq!(browser.script("return document.body.dataset.cpSegments || null"), Value::Null);
    let task = browser.wait_for("gotraceTimeline.spanPosition('Tasks 1', 4)", "the task's span");
    browser.click_at("#timeline-canvas", task["x"].as_f64().unwrap(), task["y"].as_f64().unwrap());
    browser.wait_for("document.body.dataset.cpSegments", "the selected task's critical path");
    let hash = browser.script("return location.hash");
    assert!(hash.as_str().unwrap().contains("cp=task"), "{hash}");

    // A goroutine's span offers the goroutine's critical path up to the span's end.
    let span = browser.wait_for("gotraceTimeline.spanPosition('G1 main.main', 4)", "a span on G1's lane");
    browser.click_at("#timeline-canvas", span["x"].as_f64().unwrap(), span["y"].as_f64().unwrap());
    browser.wait_for("document.getElementById('cp-link')", "the critical-path link of a goroutine span");
    browser.script("document.getElementById('cp-link').click()");
    browser.wait_for(
        "location.hash.includes('cp=goroutine') && document.body.dataset.cpSegments && document.getElementById('cp-title')",
        "the goroutine's critical path",
    );
    let title = browser.script("return document.getElementById('cp-title').textContent");
    assert!(title.as_str().unwrap().starts_with("Critical path of G1 "), "{title}");
}
