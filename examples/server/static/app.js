// The page of the example server: rooms, a live table, replays. No build step.
// The session token lives in sessionStorage, so two tabs can be two players.
"use strict";

const $ = (id) => document.getElementById(id);
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  }
  return node;
};
const piece = (kind) => el("span", { class: "piece " + kind.split("_")[1] }, kind.replace("_", " ").toLowerCase());

let ws = null, me = null, current = null, picked = new Set(), ref = 0;
const tables = {};      // room code -> last state message

// -- the WebSocket ----------------------------------------------------------------

function connect() {
  ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
  ws.onopen = () => {
    $("connection").textContent = "online";
    const token = sessionStorage.getItem("token");
    if (token) send({ op: "resume", token });
    // A spectator follows its table again; a player's seats come back with "resume".
    if (current && tables[current] && tables[current].seat === null) send({ op: "watch", code: current });
  };
  ws.onclose = () => {
    $("connection").textContent = "offline, reconnecting…";
    setTimeout(connect, 1000);   // the server may be restarting: our seat waits
  };
  ws.onmessage = (e) => receive(JSON.parse(e.data));
}

function send(message) {
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ ...message, ref: ++ref }));
}

function receive(m) {
  if (m.type === "welcome") {
    me = m.player;
    sessionStorage.setItem("token", m.token);
    $("me").textContent = "playing as " + me.name;
    $("me").hidden = $("logout").hidden = false;
    $("login").hidden = true;
    if (m.seats.length && !current) current = m.seats[0].code;
  } else if (m.type === "state") {
    tables[m.code] = m;
    for (const e of m.events || []) logEvent(m, e);
    if (!current) current = m.code;
    if (m.code === current) drawTable(m);
    if (m.phase === "GAME_OVER" && m.events?.some((e) => e.type === "game_over")) loadGames();
  } else if (m.type === "error") {
    if (m.op === "resume") { sessionStorage.removeItem("token"); me = null; }
    alert(m.message);
  }
  if (m.type !== "pong") roomsSoon();
}

let roomsTimer = null;
function roomsSoon() {   // at most one rooms request per half second, however busy the tables
  if (!roomsTimer) roomsTimer = setTimeout(() => { roomsTimer = null; loadRooms(); }, 500);
}

// -- lobby ----------------------------------------------------------------------------

async function loadRooms() {
  const rooms = await (await fetch("/api/rooms")).json();
  const body = $("rooms").tBodies[0];
  body.replaceChildren(...rooms.map((r) => el("tr", { "data-code": r.code },
    el("td", {}, r.code), el("td", {}, r.name), el("td", {}, r.phase),
    el("td", {}, r.seats.map((s) => s ? s.name + (s.connected ? "" : " (away)") : "—").join(", ")),
    el("td", {}, r.scores ? r.scores.join(" / ") : ""),
    el("td", {},
      r.phase === "WAITING" || r.phase === "GAME_OVER"
        ? el("button", { onclick: () => { current = r.code; send({ op: "sit", code: r.code }); } }, "join") : null,
      el("button", { onclick: () => { current = r.code; send({ op: "watch", code: r.code }); } }, "watch")))));
}

// -- the live table ---------------------------------------------------------------------

function drawTable(t) {
  $("table").hidden = false;
  $("t-code").textContent = `${t.code} — ${t.name}`;
  const want = t.expected || {};
  $("t-phase").textContent = t.phase === "WAITING" ? "waiting for players" :
    `${t.phase.toLowerCase()}, round ${t.round}${t.multiplier > 1 ? " ×" + t.multiplier : ""}` +
    (t.seat === null ? " (watching)" : "");
  $("t-seats").replaceChildren(...t.seats.map((s, i) => el("div", {
      class: "seat" + (want.seat === i ? " turn" : "") + (s && !s.connected ? " away" : "") },
    el("b", {}, s ? s.name : "empty"), s && s.bot ? " (bot)" : "", i === t.seat ? " (you)" : "",
    el("br"),
    t.scores ? `score ${t.scores[i]}` : "",
    t.declarations && t.declarations[i] !== null ? ` · declared ${t.declarations[i]}, won ${t.captured[i]}` : "",
    t.hand_sizes ? ` · ${t.hand_sizes[i]} pieces` : "",
    !s && t.phase === "WAITING" ? el("button", { onclick: () => send({ op: "bot", code: t.code, seat: i }) }, "add a bot") : null)));
  const plays = (t.plays && t.plays.length ? t.plays : (t.last_turn ? t.last_turn.plays : []));
  $("t-plays").replaceChildren(...plays.map(([seat, pieces]) =>
    el("div", {}, `${t.seats[seat].name}: `, pieces.map(piece))),
    t.last_turn && !(t.plays && t.plays.length) ? el("div", { class: "muted" },
      `turn won by ${t.seats[t.last_turn.winner].name} (${t.last_turn.piles} pile(s))`) : "");
  drawControls(t, want);
  drawRounds($("t-rounds"), t.rounds || [], t.seats.map((s) => s ? s.name : ""));
}

function drawControls(t, want) {
  const controls = $("t-controls"), hand = $("t-hand");
  controls.replaceChildren();
  // What the table waits for from this tab's player, for tests and styles.
  controls.dataset.kind = want.seat === t.seat && t.seat !== null ? want.kind : "";
  controls.dataset.count = want.count ?? "";
  $("table").dataset.version = t.version;
  hand.replaceChildren();
  if (t.phase === "WAITING" || t.phase === "GAME_OVER") {
    if (t.phase === "GAME_OVER") controls.append(el("p", {}, "Game over: ",
      t.winner === null ? "a tie" : t.seats[t.winner].name + " wins", ` (${t.scores.join(" / ")})`));
    controls.append(el("button", { onclick: () => send({ op: "start", code: t.code }) }, "start a game"));
    return;
  }
  if (t.hand) {
    hand.append(...t.hand.map((kind, i) => el("button", {
      class: (picked.has(i) ? "picked " : "") + kind.split("_")[1],
      onclick: () => { picked.has(i) ? picked.delete(i) : picked.add(i); drawTable(t); } },
      kind.replace("_", " ").toLowerCase())));
  }
  if (want.seat !== t.seat) {
    controls.append(el("p", { class: "muted" },
      want.kind === "deal" ? "dealing…" : `waiting for ${t.seats[want.seat].name} to ${want.kind}`));
    return;
  }
  const act = (action) => { picked = new Set(); send({ op: "act", code: t.code, seq: t.version + 1, action }); };
  if (want.kind === "redeal") {
    controls.append("Your hand is weak. Redeal? ",
      el("button", { onclick: () => act({ type: "redeal", accept: true }) }, "yes, redeal"),
      el("button", { onclick: () => act({ type: "redeal", accept: false }) }, "no, keep it"));
  } else if (want.kind === "declare") {
    controls.append("Declare piles: ", ...want.allowed.map((n) =>
      el("button", { onclick: () => act({ type: "declare", piles: n }) }, n)));
  } else if (want.kind === "play") {
    controls.append(want.count ? `Play ${want.count} piece(s): ` : "Lead 1–6 pieces that form a play: ",
      el("button", { onclick: () => act({ type: "play", pieces: [...picked].sort().map((i) => t.hand[i]) }) },
        "play the picked pieces"));
  }
}

function logEvent(t, e) {
  if (t.code !== current) return;
  const name = (seat) => t.seats[seat] ? t.seats[seat].name : `seat ${seat}`;
  const text = e.type === "turn_result" ? `round ${e.round} turn ${e.turn}: ${name(e.winner)} wins ${e.piles} pile(s) with ${e.play_type.toLowerCase()}` :
    e.type === "round_result" ? `round ${e.round} scored ×${e.multiplier}: ${e.scores.join(" / ")} → ${e.totals.join(" / ")}` :
    e.type === "game_over" ? `game over after ${e.rounds} rounds: ${e.winner === null ? "a tie" : name(e.winner) + " wins"}` : null;
  if (text) $("t-log").prepend(el("li", {}, text));
}

function drawRounds(table, rounds, names) {
  table.replaceChildren(
    el("tr", {}, el("th", {}, "round"), el("th", {}, "×"), names.map((n) => el("th", {}, n))),
    ...rounds.map((r) => el("tr", { class: "round-row" }, el("td", {}, r.round), el("td", {}, r.multiplier),
      r.scores.map((s, i) => el("td", {}, `${s >= 0 ? "+" : ""}${s} = ${r.totals[i]}`)))));
}

// -- finished games and their replay ------------------------------------------------------

let gamesCursor = null;

async function loadGames(more = false) {
  const data = await (await fetch("/api/games" + (more && gamesCursor ? "?after=" + encodeURIComponent(gamesCursor) : ""))).json();
  const body = $("games").tBodies[0];
  const rows = data.games.map((g) => el("tr", { "data-game": g.id, "data-code": g.code },
    el("td", {}, g.code), el("td", {}, new Date(g.ended_at).toLocaleString()), el("td", {}, g.rounds),
    el("td", {}, g.seats.map((n, i) => i === g.winner ? n + " (won)" : n).join(", ")),
    el("td", {}, g.totals ? g.totals.join(" / ") : "abandoned"),
    el("td", {}, el("button", { class: "replay", onclick: () => openReplay(g.id, g.code) }, "replay"))));
  if (more) body.append(...rows); else body.replaceChildren(...rows);
  gamesCursor = data.next;
  $("more-games").hidden = !gamesCursor;
}

let replay = null, step = 0;

async function openReplay(id, code) {
  const response = await fetch(`/api/games/${id}/replay`);
  if (!response.ok) { alert((await response.json()).detail); return; }
  replay = await response.json();
  step = 0;
  $("replay").hidden = false;
  $("r-title").textContent = `${code} (${replay.seats.join(", ")})`;
  $("replay-problems").textContent = replay.problems.length ? "verify: " + replay.problems.join("; ") : "";
  drawReplay();
  $("replay").scrollIntoView();
}

function drawReplay() {
  const steps = replay.steps, s = steps[step - 1];
  $("replay-step").textContent = `step ${step} / ${steps.length}`;
  $("replay-prev").disabled = $("replay-first").disabled = step === 0;
  $("replay-next").disabled = $("replay-last").disabled = step === steps.length;
  $("replay-lines").textContent = s ? s.lines.join("\n") : "before the first deal";
  const totals = s ? s.scores : [0, 0, 0, 0];
  $("replay-totals").textContent = totals.join(" / ");
  $("replay-totals").dataset.totals = JSON.stringify(totals);
  $("replay-state").replaceChildren(
    el("tr", {}, el("th", {}, ""), replay.seats.map((n) => el("th", {}, n))),
    s ? el("tr", {}, el("td", {}, "declared"), s.declarations.map((d) => el("td", {}, d === null ? "—" : d))) : null,
    s ? el("tr", {}, el("td", {}, "won"), s.captured.map((c) => el("td", {}, c))) : null,
    s ? el("tr", {}, el("td", {}, "hand"), s.hands.map((h) => el("td", {}, h.map(piece)))) : null);
  const rounds = steps.slice(0, step).flatMap((x) => x.events.filter((e) => e.type === "round_result"));
  drawRounds($("replay-rounds"), rounds, replay.seats);
}

const move = (to) => { step = Math.max(0, Math.min(replay.steps.length, to)); drawReplay(); };
$("replay-first").onclick = () => move(0);
$("replay-prev").onclick = () => move(step - 1);
$("replay-next").onclick = () => move(step + 1);
$("replay-last").onclick = () => move(replay.steps.length);
$("replay-close").onclick = () => { $("replay").hidden = true; };
$("more-games").onclick = () => loadGames(true);

// -- forms -------------------------------------------------------------------------------------

$("login").onsubmit = (e) => { e.preventDefault(); send({ op: "login", username: $("username").value }); };
$("logout").onclick = () => { sessionStorage.removeItem("token"); location.reload(); };
$("create").onsubmit = (e) => {
  e.preventDefault();
  if (!me) { alert("log in first"); return; }
  current = $("new-code").value;
  const rounds = parseInt($("new-rounds").value, 10);
  send({ op: "create", code: current, name: $("new-name").value || undefined,
         max_rounds: Number.isNaN(rounds) ? undefined : rounds });
};

connect();
loadRooms();
loadGames();
setInterval(loadRooms, 5000);
