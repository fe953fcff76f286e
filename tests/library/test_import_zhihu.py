import datetime
import json
import zoneinfo

import pytest

from library.importers.base import ImportFailed, Problem
from library.importers.detect import import_library
from library.importers.zhihu import parse_zhihu, sanitise_html
from library.models import LibraryItem

BEIJING = zoneinfo.ZoneInfo("Asia/Shanghai")


def _article(**fields):
    article = {
        "url": "https://zhuanlan.zhihu.com/p/54874433",
        "userName": "皓轩",
        "userLink": "https://www.zhihu.com/people/688c1bab",
        "upvote": 33,
        "title": "自然语言处理中句向量",
        "content": "<p>如何求解一个<b>sentence vector</b>的表达？</p>",
        "topic": [
            {"tag": "自然语言处理", "tagLink": "https://api.zhihu.com/topics/19560026"},
            {"tag": "向量", "tagLink": "https://api.zhihu.com/topics/19660929"},
        ],
        "comments": [{"userName": "新人类", "content": "<p>很全啊！</p>", "likes": 0}],
    }
    article.update(fields)
    return {key: value for key, value in article.items() if value is not None}


def _export(*articles, list_name="article"):
    return json.dumps(
        {
            "title": "机器学习笔记",
            "description": "机器学习相关知识总结",
            "followers": ["https://www.zhihu.com/people/someone"],
            list_name: list(articles),
            "url": "https://zhuanlan.zhihu.com/c_1058754636478992384",
        },
        ensure_ascii=False,
    )


def test_parse_zhihu_reads_an_article():
    items, problems = parse_zhihu(_export(_article()))

    assert problems == []
    [item] = items
    assert item.key == "54874433"
    assert item.kind == LibraryItem.Kind.ARTICLE
    assert item.title == "自然语言处理中句向量"
    assert item.source_url == "https://zhuanlan.zhihu.com/p/54874433"
    assert item.author_name == "皓轩"
    assert item.author_url == "https://www.zhihu.com/people/688c1bab"
    assert item.upvotes == 33
    assert item.tags == ["自然语言处理", "向量"]
    assert item.content_html == "<p>如何求解一个<b>sentence vector</b>的表达？</p>"
    assert item.published_at is None
    assert item.year is None


def test_parse_zhihu_reads_the_api_shape():
    article = {
        "id": 77664408,
        "title": "深度学习推荐模型线上serving",
        "url": "https://api.zhihu.com/articles/77664408",
        "author": {"name": "张三", "url_token": "zhang-san"},
        "voteup_count": 120,
        "topics": [{"name": "推荐系统"}, "深度学习"],
        "created": 1565000000,
        "content": "<p>正文</p>",
    }

    [item], problems = parse_zhihu(json.dumps({"articles": [article]}))

    assert problems == []
    assert (item.key, item.source_url) == ("77664408", "https://zhuanlan.zhihu.com/p/77664408")
    assert (item.author_name, item.author_url) == ("张三", "https://www.zhihu.com/people/zhang-san")
    assert item.upvotes == 120
    assert item.tags == ["推荐系统", "深度学习"]
    assert item.published_at == datetime.datetime(2019, 8, 5, 18, 13, 20, tzinfo=BEIJING)


@pytest.mark.parametrize(
    ("created", "expected"),
    [
        (1546272000, datetime.datetime(2019, 1, 1, tzinfo=BEIJING)),  # epoch seconds
        (1546272000000, datetime.datetime(2019, 1, 1, tzinfo=BEIJING)),  # epoch milliseconds
        ("1546272000", datetime.datetime(2019, 1, 1, tzinfo=BEIJING)),
        ("2018-12-31T16:00:00Z", datetime.datetime(2019, 1, 1, tzinfo=BEIJING)),
        ("2019-01-01T00:00:00+08:00", datetime.datetime(2019, 1, 1, tzinfo=BEIJING)),
        ("2019-01-01 00:00:00", datetime.datetime(2019, 1, 1, tzinfo=BEIJING)),  # Beijing time
    ],
)
def test_parse_zhihu_reads_epoch_and_iso_dates_as_aware_datetimes(created, expected):
    [item], problems = parse_zhihu(_export(_article(created=created)))

    assert problems == []
    assert item.published_at == expected
    assert item.published_at.tzinfo is not None
    # 2018-12-31 16:00 UTC is already 2019 in Beijing.
    assert item.year == 2019


def test_parse_zhihu_sanitises_the_html():
    content = (
        '<p onclick="steal()">正文<script>alert(1)</script><style>p{color:red}</style></p>'
        '<iframe src="https://evil.example/"></iframe><object data="x.swf">o</object>'
        '<embed src="y.swf"><img src="https://pic1.zhimg.com/a.jpg" onerror="alert(1)">'
        '<img src="javascript:alert(1)"><a href="javascript:alert(1)">坏链接</a>'
        '<a href="https://example.org/" class="external" target="_blank">好链接</a>'
    )

    [item], _problems = parse_zhihu(_export(_article(content=content)))

    assert item.content_html == (
        "<p>正文</p>"
        '<img src="https://pic1.zhimg.com/a.jpg" alt="" loading="lazy" '
        'referrerpolicy="no-referrer">'
        '<a rel="nofollow noopener">坏链接</a>'
        '<a href="https://example.org/" rel="nofollow noopener">好链接</a>'
    )


def test_sanitise_html_keeps_lazy_pictures_and_unwraps_zhihu_redirects():
    figure = (
        '<figure data-size="normal"><noscript><img src="https://pic3.zhimg.com/v2-4_b.jpg"/>'
        '</noscript><img src="data:image/svg+xml;utf8,&lt;svg&gt;&lt;/svg&gt;" '
        'class="lazy" data-actualsrc="https://pic3.zhimg.com/v2-4_b.jpg"/></figure>'
    )
    link = (
        '<a href="https://link.zhihu.com/?target=https%3A//github.com/a/b%3Fx%3D1" '
        'class=" wrap external" rel="nofollow noreferrer">代码</a>'
    )

    assert sanitise_html(figure + link + '<a href="/p/42">另一篇</a>') == (
        '<figure><img src="https://pic3.zhimg.com/v2-4_b.jpg" alt="" loading="lazy" '
        'referrerpolicy="no-referrer"></figure>'
        '<a href="https://github.com/a/b?x=1" rel="nofollow noopener">代码</a>'
        '<a href="https://zhuanlan.zhihu.com/p/42" rel="nofollow noopener">另一篇</a>'
    )


def test_sanitise_html_does_not_unwrap_a_redirect_to_javascript():
    link = '<a href="https://link.zhihu.com/?target=javascript%3Aalert(1)">x</a>'

    assert sanitise_html(link) == (
        '<a href="https://link.zhihu.com/?target=javascript%3Aalert(1)" '
        'rel="nofollow noopener">x</a>'
    )


def test_sanitise_html_keeps_a_formula_without_address_as_text():
    assert sanitise_html('<p><img src="data:x" alt="a &lt; b"></p>') == "<p>a &lt; b</p>"


def test_parse_zhihu_reports_articles_without_title_or_url_by_json_path():
    export = _export(
        _article(),
        _article(title="", url="https://zhuanlan.zhihu.com/p/2"),
        _article(url=None, title="没有地址"),
        "不是文章",
        _article(url="javascript:alert(1)", title="坏地址"),
    )

    items, problems = parse_zhihu(export)

    assert [item.title for item in items] == ["自然语言处理中句向量"]
    assert problems == [
        Problem("$.article[1].title", "the article has no title; skipped."),
        Problem("$.article[2].url", "the article has no web address; skipped."),
        Problem("$.article[3]", "not an article (an object was expected)."),
        Problem("$.article[4].url", "the article has no web address; skipped."),
    ]


def test_parse_zhihu_reports_bad_values_and_keeps_the_article():
    export = _export(_article(upvote="很多", created="昨天"), list_name="articles")

    [item], problems = parse_zhihu(export)

    assert (item.upvotes, item.published_at) == (None, None)
    assert problems == [
        Problem("$.articles[0].upvote", "not a number of upvotes; left out."),
        Problem("$.articles[0].created", "not a date; left out."),
    ]


def test_parse_zhihu_skips_a_repeated_article():
    items, problems = parse_zhihu(_export(_article(), _article(title="同一篇")))

    assert [item.title for item in items] == ["自然语言处理中句向量"]
    assert problems == [Problem("$.article[1]", "the same article as $.article[0]; skipped.")]


def test_parse_zhihu_malformed_json_names_line_and_column():
    broken = '{\n  "article": [\n    {"title": "a",}\n  ]\n}'

    with pytest.raises(ImportFailed) as failed:
        parse_zhihu(broken)

    assert str(failed.value) == (
        "The file is not valid JSON: Expecting property name enclosed in double quotes "
        "(line 3, column 19)."
    )


@pytest.mark.parametrize(
    "document",
    [[{"title": "a"}], {"title": "机器学习笔记"}, {"article": "not a list"}, "text", 42],
    ids=["list", "no articles", "articles not a list", "string", "number"],
)
def test_parse_zhihu_refuses_json_that_is_not_a_column_export(document):
    with pytest.raises(ImportFailed, match="not a Zhihu column export"):
        parse_zhihu(json.dumps(document))


def test_parse_zhihu_reads_bytes_with_a_bom():
    data = b"\xef\xbb\xbf" + _export(_article()).encode()

    [item], _problems = parse_zhihu(data)

    assert item.title == "自然语言处理中句向量"


@pytest.mark.django_db
def test_import_library_saves_zhihu_articles():
    export = _export(
        _article(created=1546272000),
        _article(url="https://zhuanlan.zhihu.com/p/54772042", title="词向量", upvote=1),
    )

    report = import_library(data=export.encode(), name="column.json")

    assert report.summary == "2 created, 0 updated, 0 unchanged, 0 problems"
    item = LibraryItem.objects.get(source_key="54874433")
    assert (item.source_file, item.kind, item.upvotes, item.year) == (
        "column.json",
        "article",
        33,
        2019,
    )
    assert item.published_at == datetime.datetime(2019, 1, 1, tzinfo=BEIJING)
    assert (item.author_name, item.author_url) == ("皓轩", "https://www.zhihu.com/people/688c1bab")
    assert sorted(tag.name for tag in item.tags.all()) == ["向量", "自然语言处理"]


@pytest.mark.django_db
def test_import_library_zhihu_twice_creates_nothing_the_second_time():
    export = _export(_article(created="2019-01-01T08:00:00+08:00")).encode()
    import_library(data=export, name="column.json")

    report = import_library(data=export, name="column.json")

    assert report.summary == "0 created, 0 updated, 1 unchanged, 0 problems"


@pytest.mark.django_db
def test_import_library_zhihu_updates_a_changed_article():
    import_library(data=_export(_article()).encode(), name="column.json")

    report = import_library(data=_export(_article(upvote=40)).encode(), name="column.json")

    assert (report.created, report.updated) == (0, 1)
    assert LibraryItem.objects.get().upvotes == 40


@pytest.mark.django_db
def test_import_library_zhihu_dry_run_saves_nothing():
    report = import_library(data=_export(_article()).encode(), name="column.json", dry_run=True)

    assert report.created == 1
    assert LibraryItem.objects.count() == 0
