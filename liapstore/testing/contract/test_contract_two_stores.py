"""Two stores on one database, as two server processes: what one writes, the
other reads right after the write returns, and what one rolls back the other
never sees. Without a cache this is the database's guarantee; with one
(``LIAPSTORE_TEST_CACHE``, ``tox -e cache``) it is the cache's, which must
keep both stores' copies coherent."""
import pytest

import liapstore
from liapstore.game import bots
from liapstore.testing.support import make_players, make_room, update_own


@pytest.mark.durable
def test_each_store_reads_what_the_other_just_wrote(store_url):
    with liapstore.connect(store_url) as a, liapstore.connect(store_url) as b:
        players = make_players(a, prefix="two")
        room = make_room(a, code="TWO1")
        game = b.start_game(room.id, [p.id for p in players], winning_score=1, max_rounds=1)
        for store in (a, b):   # both hold everything now
            store.load_game(game.id), store.get_seats(game.id), store.get_room(room.id)
            store.get_player(players[0].id), store.get_room_by_code("TWO1")
        assert a.get_room(room.id).status == "playing"
        writer, reader = a, b
        while game.ended_at is None:
            state = writer.load_game(game.id).state
            game = writer.record_action(game.id, game.version + 1,
                                        bots.next_action(state, "two", game.version + 1))
            assert reader.load_game(game.id).game.version == game.version
            assert reader.get_game(game.id) == game
            assert [s.score for s in reader.get_seats(game.id)] == \
                [s.score for s in writer.get_seats(game.id)]
            writer, reader = reader, writer
        assert reader.get_room(room.id).status == "finished"
        assert reader.get_room_by_code("TWO1").status == "finished"
        assert reader.get_player(players[0].id).games_played == 1
        assert reader.get_player_by_username(players[1].username).games_played == 1
        a.update_room(room.id, name="renamed")
        assert b.get_room(room.id).name == "renamed"
        update_own(b, players[2].id, settings={"seen": True})
        assert a.get_player(players[2].id).settings == {"seen": True}


@pytest.mark.durable
def test_a_rolled_back_write_is_never_seen_by_the_other_store(store_url):
    with liapstore.connect(store_url) as a, liapstore.connect(store_url) as b:
        room = make_room(a, code="TWO2", name="before")
        assert b.get_room(room.id).name == "before"
        with pytest.raises(RuntimeError):
            with a.transaction():
                a.update_room(room.id, name="rolled back")
                raise RuntimeError
        assert b.get_room(room.id).name == "before"
        assert a.get_room(room.id).name == "before"
        with a.transaction():
            a.update_room(room.id, name="committed")
        assert b.get_room(room.id).name == "committed"
