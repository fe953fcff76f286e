import pytest

from library.importers.base import ImportFailed, Problem
from library.importers.detect import detect_format, import_library, read_text
from library.importers.reading_list import parse_reading_list
from library.models import LibraryItem

READING_LIST = """\
# 深度学习模型文章阅读积累

建这个仓库是为了积累深度学习模型在各个公司中的应用。

1. 模型部署
2. 推荐

## 1. 部署

部署一般就是 Flask + 负载均衡。

[蘑菇街自研服务框架如何提升在线推理效率？](https://mp.weixin.qq.com/s/IzLt)
使用协程解决并发问题
[爱奇艺基于CPU的深度学习推理服务优化实践-201904](https://zhuanlan.zhihu.com/p/61853955)
 从算法、应用以及系统三个方面优化

## 3. 推荐

###  3.2 召回：

1. "全能选手"召回表征算法实践--网易严选
   https://mp.weixin.qq.com/s/s4tN
2. 深度召回在招聘推荐中的挑战和实践
https://mp.weixin.qq.com/s/mcET
3. [Embedding 技术在民宿推荐中的应用](./content/embedding.md)  精读完成
4.  [美团BERT的探索和实践](https://tech.meituan.com/bert.html)  细节很多

讲的是 BERT 在美团场景中的改进
   - 值得再读一遍
   - [相关：阿里飞猪召回篇](https://mp.weixin.qq.com/s/323D)
5. 还没找到链接的文章
"""


def _by_title(items):
    return {item.title: item for item in items}


def test_parse_reading_list_turns_headings_into_tags_and_keeps_comments():
    items, _problems = parse_reading_list(READING_LIST)

    assert [(item.title, item.tags, item.source_url, item.note) for item in items] == [
        (
            "蘑菇街自研服务框架如何提升在线推理效率？",
            ["部署"],
            "https://mp.weixin.qq.com/s/IzLt",
            "使用协程解决并发问题",
        ),
        (
            "爱奇艺基于CPU的深度学习推理服务优化实践-201904",
            ["部署"],
            "https://zhuanlan.zhihu.com/p/61853955",
            "从算法、应用以及系统三个方面优化",
        ),
        (
            '"全能选手"召回表征算法实践--网易严选',
            ["推荐", "召回"],
            "https://mp.weixin.qq.com/s/s4tN",
            "",
        ),
        (
            "深度召回在招聘推荐中的挑战和实践",
            ["推荐", "召回"],
            "https://mp.weixin.qq.com/s/mcET",
            "",
        ),
        (
            "美团BERT的探索和实践",
            ["推荐", "召回"],
            "https://tech.meituan.com/bert.html",
            "细节很多\n讲的是 BERT 在美团场景中的改进\n值得再读一遍",
        ),
        ("相关：阿里飞猪召回篇", ["推荐", "召回"], "https://mp.weixin.qq.com/s/323D", ""),
    ]


def test_parse_reading_list_items_are_articles_keyed_by_url_in_file_order():
    items, _problems = parse_reading_list(READING_LIST)

    assert {item.kind for item in items} == {LibraryItem.Kind.ARTICLE}
    assert [item.key for item in items] == [item.source_url for item in items]
    assert [item.position for item in items] == [0, 1, 2, 3, 4, 5]


def test_parse_reading_list_takes_the_year_from_a_date_suffix():
    items = _by_title(parse_reading_list(READING_LIST)[0])

    assert items["爱奇艺基于CPU的深度学习推理服务优化实践-201904"].year == 2019
    assert items["美团BERT的探索和实践"].year is None


def test_parse_reading_list_reports_items_without_a_usable_link_by_line():
    _items, problems = parse_reading_list(READING_LIST)

    assert problems == [
        Problem("line 5", "“模型部署” has no link; skipped."),
        Problem("line 6", "“推荐” has no link; skipped."),
        Problem(
            "line 25",
            "“Embedding 技术在民宿推荐中的应用” links to “./content/embedding.md”, a relative "
            "address; give a base URL to import it.",
        ),
        Problem("line 31", "“还没找到链接的文章” has no link; skipped."),
    ]


def test_parse_reading_list_resolves_relative_links_against_the_base_url():
    items, problems = parse_reading_list(
        READING_LIST, base_url="https://github.com/DA-southampton/Tech_Aarticle/blob/master/"
    )

    article = _by_title(items)["Embedding 技术在民宿推荐中的应用"]
    assert article.source_url == (
        "https://github.com/DA-southampton/Tech_Aarticle/blob/master/content/embedding.md"
    )
    assert article.note == "精读完成"
    assert len(problems) == 3


def test_parse_reading_list_merges_an_article_listed_in_two_sections():
    text = "## NLP\n- [BERT](https://arxiv.org/abs/1810.04805) 必读\n\n## 推荐\n" + (
        "- [BERT](https://arxiv.org/abs/1810.04805) 也用于召回\n"
    )

    items, problems = parse_reading_list(text)

    assert [(item.title, item.tags, item.note) for item in items] == [
        ("BERT", ["NLP", "推荐"], "必读\n也用于召回")
    ]
    assert problems == []


def test_parse_reading_list_refuses_links_that_are_not_web_addresses():
    items, problems = parse_reading_list("- [点我](javascript:alert(1))\n- [文件](ftp://x.org/a)\n")

    assert items == []
    assert problems == [
        Problem("line 1", "“点我”: “javascript:alert(1)” is not a web address; skipped."),
        Problem("line 2", "“文件”: “ftp://x.org/a” is not a web address; skipped."),
    ]


def test_parse_reading_list_skips_fenced_code_and_comments():
    text = (
        "## 工具\n```\n- [不是文章](https://example.org/code)\n```\n"
        "<!--\n- [草稿](https://example.org/draft)\n-->\n"
        "- [真的](https://example.org/real)\n"
    )

    items, problems = parse_reading_list(text)

    assert [item.source_url for item in items] == ["https://example.org/real"]
    assert problems == []


def test_parse_reading_list_without_items_has_nothing_and_no_problems():
    assert parse_reading_list("随手记的笔记\n\n没有列表，也没有链接。\n") == ([], [])


# --- Decoding and format detection -----------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        "## 推荐\n- 文章".encode(),
        b"\xef\xbb\xbf" + "## 推荐\n- 文章".encode(),
        "## 推荐\n- 文章".encode("gbk"),
    ],
    ids=["utf-8", "utf-8 with BOM", "gbk"],
)
def test_read_text_decodes_utf8_and_gbk(data):
    assert read_text(data) == "## 推荐\n- 文章"


@pytest.mark.parametrize(
    "data",
    [
        "Café crème brûlée, déjà vu".encode("latin-1"),
        b"\x81\x30\x81\x30\x81\x30\x81\x31",  # valid GB18030, but no Chinese: not a GBK file
        b"\x00\x01\x02binary",
    ],
    ids=["latin-1", "gb18030 without chinese", "binary"],
)
def test_read_text_refuses_other_encodings(data):
    with pytest.raises(ImportFailed, match="is not UTF-8 or GBK text"):
        read_text(data)


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("column.json", "", "zhihu"),
        ("export.txt", '  {"article": []}', "zhihu"),
        ("README.md", "## 九、分享\n### Topic 7\n#### Topic 7 >> 推荐系统\n", "topic-archive"),
        ("README.md", "### 初期\n#### 初期 >> 图像处理\n", "topic-archive"),
        ("list.md", "## 推荐\n- [a](https://a.org)\n", "reading-list"),
    ],
)
def test_detect_format(name, text, expected):
    assert detect_format(name, text) == expected


# --- Importing ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_import_library_saves_reading_list_articles_with_tags():
    report = import_library(data=READING_LIST.encode(), name="/home/me/reading-list.md")

    assert report.summary == "6 created, 0 updated, 0 unchanged, 4 problems"
    item = LibraryItem.objects.get(source_url="https://tech.meituan.com/bert.html")
    assert item.source_file == "reading-list.md"
    assert item.kind == LibraryItem.Kind.ARTICLE
    assert sorted(tag.name for tag in item.tags.all()) == ["召回", "推荐"]
    assert item.note == "细节很多\n讲的是 BERT 在美团场景中的改进\n值得再读一遍"
    assert "召回" in item.search_text


@pytest.mark.django_db
def test_import_library_reading_list_twice_creates_nothing_the_second_time():
    import_library(data=READING_LIST.encode(), name="reading-list.md")

    report = import_library(data=READING_LIST.encode(), name="reading-list.md")

    assert report.summary == "0 created, 0 updated, 6 unchanged, 4 problems"
    assert LibraryItem.objects.count() == 6


@pytest.mark.django_db
def test_import_library_reordered_reading_list_updates_the_same_items():
    first = "## 推荐\n- [A](https://a.org) 好\n- [B](https://b.org)\n"
    reordered = "## 精选\n- [B](https://b.org)\n\n## 推荐\n- [A](https://a.org) 好\n"
    import_library(data=first.encode(), name="list.md")

    report = import_library(data=reordered.encode(), name="list.md")

    assert (report.created, report.updated, report.unchanged) == (0, 2, 0)
    assert sorted(
        (item.title, item.position, [tag.name for tag in item.tags.all()])
        for item in LibraryItem.objects.all()
    ) == [("A", 1, ["推荐"]), ("B", 0, ["精选"])]


@pytest.mark.django_db
def test_import_library_dry_run_saves_nothing():
    report = import_library(data=READING_LIST.encode(), name="reading-list.md", dry_run=True)

    assert report.dry_run is True
    assert report.created == 6
    assert LibraryItem.objects.count() == 0


@pytest.mark.django_db
def test_import_library_reads_a_gbk_reading_list():
    report = import_library(data=READING_LIST.encode("gb18030"), name="reading-list.md")

    assert report.created == 6
    assert LibraryItem.objects.filter(title="深度召回在招聘推荐中的挑战和实践").exists()


@pytest.mark.django_db
def test_import_library_refuses_latin1_and_saves_nothing():
    with pytest.raises(ImportFailed):
        import_library(data="## Café\n- [crème](https://a.org)".encode("latin-1"), name="a.md")

    assert LibraryItem.objects.count() == 0
