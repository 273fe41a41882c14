"""The dashboard in a real headless browser (Debian ``chromium`` + ``chromium-driver``, driven by selenium):
it renders the 3-broker cluster with the controller marked and every replica's bars, and after the leader of
a partition is killed it shows the new leader — without a reload (a marker set on the page survives).

Set ``KAFKA_ZK_DASHBOARD_PNG=docs/dashboard.png`` to also save the screenshot the docs show."""

from __future__ import annotations

import os
import shutil
from typing import Any, Callable

import pytest

from tests.helpers import unique_name

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="needs Debian chromium and chromium-driver (bash tools/dev.sh setup installs them)",
)


@pytest.fixture
def browser() -> Any:
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is in the [test] extra")
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1000"):
        opts.add_argument(arg)
    opts.binary_location = CHROMIUM
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(driver: Any, cond: Callable[[Any], Any], timeout: float = 60) -> Any:
    """Poll `cond`; the page re-renders on every update, so an element found a moment ago may be stale."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(
        driver, timeout, poll_frequency=0.2, ignored_exceptions=(StaleElementReferenceException,)
    ).until(cond)


def leader_of(driver: Any, tp: str) -> int | None:
    """The leader the page shows for `tp`, read in one script call (atomic against a re-render)."""
    got = driver.execute_script(
        "const el = document.querySelector(`[data-tp=\"${arguments[0]}\"]`);"
        " return el ? el.getAttribute('data-leader') : null;",
        tp,
    )
    return None if got is None else int(got)


def test_dashboard_renders_the_cluster_and_follows_a_leader_failover_without_reload(
    cluster_factory: Callable[..., Any], browser: Any
) -> None:
    from kafka import KafkaProducer
    from kafka.admin import KafkaAdminClient, NewTopic
    from selenium.webdriver.common.by import By

    cluster = cluster_factory(3)
    topic = unique_name("dash")
    admin = KafkaAdminClient(bootstrap_servers=cluster.bootstrap_servers)
    try:
        admin.create_topics([NewTopic(topic, 3, 3)])
    finally:
        admin.close()
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers, acks="all")
    try:
        for i in range(90):
            producer.send(topic, key=str(i).encode(), value=b"x" * 64)
        producer.flush(30)
    finally:
        producer.close()
    controller = cluster.controller_id()
    # watch from the controller's dashboard and kill the leader of partition 0 (another broker)
    browser.get(cluster.broker(controller).dashboard)
    tp = f"{topic}-0"
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f'[data-tp="{tp}"]'))
    nodes = wait_for(browser, lambda d: [
        (n.get_attribute("data-broker-id"), n.get_attribute("data-controller"))
        for n in d.find_elements(By.CSS_SELECTOR, "#ring g.node")
    ])
    assert len(nodes) == 3
    assert [b for b, is_controller in nodes if is_controller == "true"] == [str(controller)]
    replicas = wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, f'[data-tp="{tp}"] .replica')))
    assert replicas == 3
    wait_for(browser, lambda d: d.find_element(By.ID, "conn").text == "live")
    leader = leader_of(browser, tp)
    if leader == controller:  # keep the page's broker alive: move on to a partition another broker leads
        for p in range(1, 3):
            other = leader_of(browser, f"{topic}-{p}")
            if other is not None and other != controller:
                tp, leader = f"{topic}-{p}", other
                break
    assert leader != controller
    shot = os.environ.get("KAFKA_ZK_DASHBOARD_PNG")
    if shot:
        browser.set_window_size(1400, browser.execute_script("return document.body.scrollHeight") + 40)
        browser.save_screenshot(shot)
    browser.execute_script("window.__noReload = 'still the same page';")

    cluster.kill(leader)

    def new_leader(d: Any) -> int | None:
        got = leader_of(d, tp)
        return got if got not in (leader, -1, None) else None

    elected = wait_for(browser, new_leader)
    assert elected != leader
    down = wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f'#ring g.node.down[data-broker-id="{leader}"]'))
    assert down
    assert browser.execute_script("return window.__noReload") == "still the same page"
    timeline = wait_for(browser, lambda d: d.find_element(By.ID, "events").text or None)
    assert "broker.failed" in timeline or "partition.leader_elected" in timeline
