"""The same games recorded into every backend give the same rankings, entry
for entry (ranks, order, statistics), on every board and period."""
import liapstore
from conftest import selected_backends
from liapstore.testing.support import SHORT, record, script

PLAYERS = 7
GAMES = 20


def _seed(store):
    ids = [store.create_player(f"conf_{i}").id for i in range(PLAYERS)]
    for g in range(GAMES):
        # A fixed but irregular seating, so that the players' game counts differ.
        seated = [ids[(g * 3 + i * (1 + g % 2)) % PLAYERS] for i in range(4)]
        if len(set(seated)) < 4:
            seated = [ids[(g + i) % PLAYERS] for i in range(4)]
        room = store.create_room(f"CONF{g}", f"conformance {g}")
        game = store.start_game(room.id, seated, bots=[g % 4], **SHORT)
        record(store, game.id, script(1000 + g).steps)
    store.create_season("conformance", *_window())
    return ids


def _window():
    from datetime import datetime, timedelta, timezone
    now = datetime.now(timezone.utc)
    return now - timedelta(days=2), now + timedelta(days=2)


def _picture(store):
    """Every board and period as comparable tuples (ids replaced by usernames)."""
    out = {}
    for season in (None, "week", "month", "conformance"):
        for by in ("wins", "score", "winrate"):
            board = list(store.leaderboard(by=by, season=season))
            out[(season, by)] = [(e.username, e.rank, e.games_played, e.games_won, e.total_score,
                                  e.highest_score, e.win_rate) for e in board]
            if board:
                mid = board[len(board) // 2]
                out[(season, by, "around")] = [(e.username, e.rank) for e in
                                               store.leaderboard_around(mid.id, by=by, radius=2,
                                                                        season=season)]
                out[(season, by, "rank")] = store.rank(mid.id, by=by, season=season).rank
    return out


def test_every_backend_ranks_the_same_games_the_same(request, tmp_path):
    pictures = {}
    for backend in selected_backends():
        if backend == "memory":
            url = "memory://"
        elif backend == "sqlite":
            url = f"sqlite:///{tmp_path / 'conformance.db'}"
        else:
            url = request.getfixturevalue("new_postgres_url")()
        with liapstore.connect(url) as store:
            _seed(store)
            assert store.verify_stats() == []
            pictures[backend] = _picture(store)
    first, *others = pictures
    assert pictures[first][(None, "wins")], "nobody reached ten games; seed more"
    assert any(len({r for _, r, *_ in pictures[first][(None, by)]}) < len(pictures[first][(None, by)])
               for by in ("wins", "score", "winrate")), "no tie in the seeded games"
    for backend in others:
        for key, value in pictures[first].items():
            assert pictures[backend][key] == value, (backend, first, key)
