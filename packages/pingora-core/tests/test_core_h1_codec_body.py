"""Body framing (`BodyReader` / `BodyWriter`): Pingora's body.rs test cases, ported to the
sans-IO API (each Pingora mock read becomes one `feed`)."""

from __future__ import annotations

import pytest

from pingora_core.errors import Error, ErrorType
from pingora_core.protocols.http.v1 import INVALID_CHUNK, PREMATURE_BODY_END, BodyReader, BodyWriter
from pingora_http import HeaderMap


def test_read_content_length() -> None:
    reader = BodyReader.content_length(3)
    assert reader.feed(b"abc") == [b"abc"]
    assert reader.done
    assert reader.bytes_read == 3


def test_read_content_length_in_two() -> None:
    reader = BodyReader.content_length(3)
    assert reader.feed(b"a") == [b"a"]
    assert not reader.done
    assert reader.remaining == 2
    assert reader.feed(b"bc") == [b"bc"]
    assert reader.done


def test_read_content_length_less_then_eof() -> None:
    reader = BodyReader.content_length(3)
    assert reader.feed(b"a") == [b"a"]
    with pytest.raises(Error) as info:
        reader.feed_eof()
    assert info.value.etype == ErrorType.ConnectionClosed
    assert reader.bytes_read == 1


def test_read_content_length_more_keeps_leftover() -> None:
    reader = BodyReader.content_length(3)
    assert reader.feed(b"a") == [b"a"]
    assert reader.feed(b"bcd") == [b"bc"]
    assert reader.done
    assert reader.leftover == b"d"
    assert reader.feed(b"e") == []
    assert reader.leftover == b"de"


def test_read_content_length_zero_is_done() -> None:
    reader = BodyReader.content_length(0)
    assert reader.done
    assert reader.feed(b"x") == []
    assert reader.leftover == b"x"


def test_read_until_close() -> None:
    reader = BodyReader.until_close()
    assert reader.feed(b"ab") == [b"ab"]
    assert reader.feed(b"c") == [b"c"]
    assert not reader.done
    reader.feed_eof()
    assert reader.done
    assert reader.bytes_read == 3


def test_read_zero_chunk() -> None:
    reader = BodyReader.chunked()
    assert reader.feed(b"0\r\n\r\n") == []
    assert reader.done
    assert reader.bytes_read == 0


def test_read_chunk_ext() -> None:
    reader = BodyReader.chunked()
    assert reader.feed(b"0;aaaa\r\n\r\n") == []
    assert reader.done


def test_read_chunk_ext_oversize() -> None:
    reader = BodyReader.chunked()
    assert reader.feed(b"0;") == []
    assert reader.feed(b"a" * 1024 * 5) == []
    with pytest.raises(Error) as info:
        reader.feed(b"a" * 1024 * 3)
    assert info.value.etype == INVALID_CHUNK


def test_read_one_chunk() -> None:
    reader = BodyReader.chunked()
    assert reader.feed(b"1\r\na\r\n") == [b"a"]
    assert not reader.done
    assert reader.feed(b"0\r\n\r\n") == []
    assert reader.done
    assert reader.bytes_read == 1


def test_read_multi_chunk() -> None:
    reader = BodyReader.chunked()
    assert reader.feed(b"1\r\na\r\n2\r\nbc\r\n") == [b"a", b"bc"]
    assert reader.feed(b"0\r\n\r\n") == []
    assert reader.done
    assert reader.bytes_read == 3


def test_read_partial_chunk() -> None:
    reader = BodyReader.chunked()
    assert reader.feed(b"3\r\na") == [b"a"]
    assert reader.feed(b"bc\r\n0\r\n\r\n") == [b"bc"]
    assert reader.done
    assert reader.bytes_read == 3


def test_read_partial_head_chunk() -> None:
    reader = BodyReader.chunked()
    assert reader.feed(b"1\r") == []
    assert reader.feed(b"\na\r\n0\r\n\r\n") == [b"a"]
    assert reader.done


def test_read_chunk_split_crlf_and_trailers() -> None:
    reader = BodyReader.chunked()
    out: list[bytes] = []
    for byte in b"A\r\n0123456789\r\n0\r\nX-A: 1\r\nX-B:  two \r\n\r\n":
        out += reader.feed(bytes([byte]))
    assert b"".join(out) == b"0123456789"
    assert reader.trailers is not None
    assert reader.trailers.items() == [(b"X-A", b"1"), (b"X-B", b"two")]


def test_read_chunked_eof_before_last_chunk() -> None:
    reader = BodyReader.chunked()
    reader.feed(b"1\r\na\r\n")
    with pytest.raises(Error) as info:
        reader.feed_eof()
    assert info.value.etype == ErrorType.ConnectionClosed


def test_read_big_chunk_is_not_copied() -> None:
    reader = BodyReader.chunked()
    reader.feed(b"100000\r\n")
    data = b"x" * 0x100000
    pieces = reader.feed(data)
    assert pieces[0] is data


def test_reader_checks_its_arguments() -> None:
    with pytest.raises(ValueError, match="mode"):
        BodyReader("gzip")
    with pytest.raises(ValueError, match="length"):
        BodyReader("length", -1)
    assert "mode=chunked" in repr(BodyReader.chunked())
    assert BodyReader.empty().done


def test_write_content_length() -> None:
    writer = BodyWriter.content_length(1)
    assert writer.frame(b"a") == [b"a"]
    assert writer.bytes_written == 1
    assert writer.complete
    assert writer.frame(b"a") == []  # over the limit
    assert writer.finish() == []
    assert writer.finished


def test_write_content_length_truncates() -> None:
    writer = BodyWriter.content_length(2)
    parts = writer.frame(b"abc")
    assert [bytes(p) for p in parts] == [b"ab"]


def test_write_content_length_short_is_premature() -> None:
    writer = BodyWriter.content_length(3)
    writer.frame(b"a")
    with pytest.raises(Error) as info:
        writer.finish()
    assert info.value.etype == PREMATURE_BODY_END


def test_write_chunked() -> None:
    writer = BodyWriter.chunked()
    data = b"abcdefghij"
    assert b"".join(writer.frame(data)) == b"A\r\nabcdefghij\r\n"
    assert b"".join(writer.frame(data)) == b"A\r\nabcdefghij\r\n"
    assert writer.frame(b"") == []  # an empty chunk would end the body
    assert writer.bytes_written == 20
    assert b"".join(writer.finish()) == b"0\r\n\r\n"
    assert writer.finish() == []


def test_write_chunked_trailers() -> None:
    writer = BodyWriter.chunked()
    trailers = HeaderMap([("X-Sum", "9")])
    assert b"".join(writer.finish(trailers)) == b"0\r\nX-Sum: 9\r\n\r\n"


def test_write_until_close_and_no_body() -> None:
    writer = BodyWriter.until_close()
    assert writer.frame(b"a") == [b"a"]
    assert writer.frame(b"a") == [b"a"]
    assert writer.finish() == []
    assert writer.bytes_written == 2
    none = BodyWriter.no_body()
    assert none.frame(b"abc") == []
    assert none.finish() == []


def test_writer_checks_its_arguments() -> None:
    with pytest.raises(ValueError, match="mode"):
        BodyWriter("gzip")
    with pytest.raises(ValueError, match="length"):
        BodyWriter("length", -5)
    assert "mode=chunked" in repr(BodyWriter.chunked())


def test_roundtrip_chunked() -> None:
    writer = BodyWriter.chunked()
    wire = b"".join(bytes(p) for piece in (b"x" * 5, b"y" * 300) for p in writer.frame(piece))
    wire += b"".join(bytes(p) for p in writer.finish(HeaderMap([("T", "v")])))
    reader = BodyReader.chunked()
    assert b"".join(reader.feed(wire)) == b"x" * 5 + b"y" * 300
    assert reader.done
    assert reader.trailers == HeaderMap([("T", "v")])


def test_cached_date() -> None:
    import re
    from email.utils import parsedate_to_datetime

    from pingora_core.protocols.http import get_cached_date

    first = get_cached_date()
    assert re.fullmatch(rb"[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT", first)
    assert parsedate_to_datetime(first.decode()).tzinfo is not None
