"""The example server's page in a real browser: headless Chromium from the
OS packages (``chromium``, ``chromium-driver``), driven by Selenium.

One test plays games through the server with real WebSocket clients, opens
the page, finds those games among the finished ones, steps one replay to its
end with the page's own "next" button, and compares the scores the page
shows, after each round and at the end, with what the store holds; the other
plays a whole game by clicking. A missing browser fails the tests: .ci/run
installs it.
"""
import asyncio
import json
import shutil
import time
import uuid

import pytest

import liapstore
from examples.server import e2e

CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromedriver")


@pytest.fixture
def browser():
    missing = [path for path in CHROMIUM if not shutil.which(path)]
    assert not missing, (f"{', '.join(missing)} not found: install the OS packages "
                         "(apt-get install -y chromium chromium-driver; .ci/run does)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM[0]
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--disable-gpu", "--window-size=1400,1100"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMIUM[1]), options=options)
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


def wait_for(condition, timeout=20.0, what="the page"):
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.mark.backends("sqlite")
def test_page_replays_a_played_game(browser, store_url, tmp_path, figures):
    from selenium.webdriver.common.by import By
    url = store_url
    tag = "P" + uuid.uuid4().hex[:6].upper()
    played = asyncio.run(e2e.run_async(url, games=2, kills=0, tag=tag))
    assert played.ok, played.lines()
    codes = [f"{tag}G0", f"{tag}G1", f"{tag}B"]

    server = e2e.Server(url, e2e.free_port())
    server.start()
    try:
        asyncio.run(server.wait_ready())
        browser.get(f"http://127.0.0.1:{server.port}/")

        # The finished games listed are the games the test played.
        rows = wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#games tbody tr[data-game]"),
                        what="the finished games")
        assert sorted(r.get_attribute("data-code") for r in rows) == sorted(codes)
        row = next(r for r in rows if r.get_attribute("data-code") == codes[0])
        game_id = row.get_attribute("data-game")
        row.find_element(By.CSS_SELECTOR, "button.replay").click()

        # Step the replay to its end, one action at a time.
        step = browser.find_element(By.ID, "replay-next")
        wait_for(lambda: browser.find_element(By.ID, "replay-step").text.startswith("step 0 /"),
                 what="the replay")
        clicks = 0
        while step.is_enabled():
            step.click()
            clicks += 1
        with liapstore.connect(url) as store:
            game = store.get_game(game_id)
            rounds = store.list_rounds(game_id)
        assert clicks == game.version
        assert browser.find_element(By.ID, "replay-step").text == f"step {game.version} / {game.version}"

        # The final scores, and the totals after each round, are the store's.
        shown = json.loads(browser.find_element(By.ID, "replay-totals").get_attribute("data-totals"))
        assert shown == game.final_scores["totals"]
        table = browser.find_elements(By.CSS_SELECTOR, "#replay-rounds tr.round-row")
        assert len(table) == len(rounds) == game.current_round
        for tr, stored in zip(table, rounds):
            cells = [td.text for td in tr.find_elements(By.TAG_NAME, "td")]
            assert cells[0] == str(stored.round_number)
            assert [c.split(" = ")[1] for c in cells[2:]] == [str(t) for t in stored.round_data["totals"]]
        assert browser.find_element(By.ID, "replay-problems").text == ""

        # The page ran without a script error.
        errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == []
        shot = tmp_path / "replay.png"
        assert browser.save_screenshot(str(shot))
        figures(f"browser: replayed {clicks} actions of {codes[0]} to its end in Chromium; "
                f"screenshot {shot}")
    finally:
        server.stop()


@pytest.mark.backends("sqlite")
def test_page_plays_a_game_against_bots(browser, store_url, tmp_path, figures):
    """A person's path through the page: log in, create a room, seat three
    bots, start, and play every move by clicking (a redeal declined, the first
    declaration offered, the first pieces of the hand) until the game is over."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    server = e2e.Server(store_url, e2e.free_port(), log_path=str(tmp_path / "server.log"))
    server.start()
    try:
        asyncio.run(server.wait_ready())
        browser.get(f"http://127.0.0.1:{server.port}/")
        browser.find_element(By.ID, "username").send_keys("pagetester")
        browser.find_element(By.CSS_SELECTOR, "#login button").click()
        wait_for(lambda: browser.find_element(By.ID, "me").is_displayed(), what="the log-in")
        browser.find_element(By.ID, "new-code").send_keys("LIVE1")
        browser.find_element(By.ID, "new-rounds").send_keys("1")
        browser.find_element(By.CSS_SELECTOR, "#create button").click()
        for _ in range(3):
            button = wait_for(lambda: browser.find_elements(By.XPATH, "//button[text()='add a bot']"),
                              what="an empty seat")[0]
            button.click()
            time.sleep(0.2)
        wait_for(lambda: not browser.find_elements(By.XPATH, "//button[text()='add a bot']"),
                 what="four seats taken")
        browser.find_element(By.XPATH, "//button[text()='start a game']").click()

        moves = 0
        deadline = time.monotonic() + 120
        while "Game over" not in browser.find_element(By.ID, "t-controls").text:
            assert time.monotonic() < deadline, "the game did not end"
            try:
                controls = browser.find_element(By.ID, "t-controls")
                kind = controls.get_attribute("data-kind")
                version = browser.find_element(By.ID, "table").get_attribute("data-version")
                if kind == "redeal":
                    controls.find_element(By.XPATH, ".//button[text()='no, keep it']").click()
                elif kind == "declare":
                    controls.find_elements(By.TAG_NAME, "button")[0].click()
                elif kind == "play":
                    count = int(controls.get_attribute("data-count") or 1)
                    for i in range(count):
                        browser.find_elements(By.CSS_SELECTOR, "#t-hand button")[i].click()
                    browser.find_element(By.XPATH, "//button[text()='play the picked pieces']").click()
                else:
                    time.sleep(0.05)
                    continue
                moves += 1
                # The next move waits for the table to move on.
                wait_for(lambda: browser.find_element(By.ID, "table").get_attribute("data-version")
                         != version, what="the move to be recorded")
            except StaleElementReferenceException:
                continue    # the table was redrawn under us: look again
        shown = browser.find_element(By.ID, "t-controls").text
        shot = tmp_path / "live.png"
        assert browser.save_screenshot(str(shot))
        errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == []
    finally:
        server.stop()
    with liapstore.connect(store_url) as store:
        room = store.get_room_by_code("LIVE1")
        (game,) = store.list_games(room_id=room.id).items
        assert game.current_phase == "GAME_OVER" and store.verify_game(game.id) == []
        mine = [a for a in store.list_actions(game.id) if a.action_data.get("seat") == 0]
        assert len(mine) == moves > 0
        assert " / ".join(map(str, game.final_scores["totals"])) in shown
    figures(f"browser: played a 1-round game against 3 bots by clicking ({moves} moves); screenshot {shot}")
