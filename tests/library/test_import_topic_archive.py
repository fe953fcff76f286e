import pytest

from library.importers.base import ImportFailed, Problem, run_import
from library.importers.topic_archive import parse_topic_archive
from library.models import LibraryItem
from library.search import search
from members.models import User
from sessions.models import Season, Track
from tests.factories import TrackFactory, UserFactory

# The shape of the forum's README: a table of contents and other sections around the archive.
README = """\
# TopicShare 开源学习论坛

- [一、动机](#一动机)
- [九、TopicShare 分享 Topic 管理](#九topicshare-分享-topic-管理)
  - [Topic 5](#topic-5)

1. [动机](#一动机)
2. [分享 Topic 管理](#九topicshare-分享-topic-管理)

## 一、动机

1. 你是否也再一个人干巴巴的学习么?
2. [Topic 发起表](https://shimo.im/sheets/y98CHkv6KHvkwrQ3/MODOC)

## 九、TopicShare 分享 Topic 管理

1. [Topic 5](#topic-5)
2. [Topic 3](#topic-3)

### Topic 5

#### Topic 5 >> 自然语言处理

1. [XLNet](https://e.org/XLNet.pdf)【玲玲】【[视频分享](https://pan.baidu.com/s/1D) 提取码：g1ky 】
2. [模型蒸馏](https://e.org/蒸馏.pdf)【李威】【[视频分享](https://pan.baidu.com/s/1kT0 ) runl 】
   1. [DistilBERT](https://example.org/T5/DistilBERT.pdf)
   2. [FastBERT](https://example.org/T5/FastBERT.pdf)
3. [Multi-Source Domain Adaptation with Mixture of Experts](https://example.org/T5/MOE.pdf)

#### Topic 5 >> 图像处理

1. [CNN可解释性](https://example.org/T5/ABN.pdf)【李国樑】【视频有需要找负责人拿，谢谢】
2. [MTCNN](https://shimo.im/docs/p3dq#anchor-92e8)【】
3. [基于元矩阵分解的联邦评分预测任务](https://example.org/T5/MetaMF.pptx) 【Honglei Zhang】

### Topic 3

#### Topic 3 >> 自然语言处理

1. 【[【关于 实体关系联合抽取】 那些你不知道的事](https://github.com/km1994/T3/NLP/)】
2. [GraphRel: Relational Graphs [ACL2019]](https://shimo.im/docs/KKHw#anchor-bb5z)【杨夕】

### Topic 2

#### Topic 2 >> 自然语言处理 之 基于细粒度情感分析

1. [LCF: A Local Context Focus Mechanism for Aspect-Based Sentiment
Classification](https://example.org/T2/4-LCF.pdf)【杨夕】

### 初期

#### 推荐系统

1. 推荐系统综述【[paper](https://example.org/old/survey.pdf)】【Jepson】
2. [Attention Is All You Need]()
   1. [Transformer理论源码细节详解](https://zhuanlan.zhihu.com/p/106867810)【我是大好人】

## 待续。。。

## 十、下期预告

### Topic 8

1. [Planned, not presented yet](https://e.org/plan.pdf)【杨夕】

## 参考

1. [nlp_paper_study](https://github.com/km1994/nlp_paper_study)
"""


def _archive(body: str) -> str:
    return "## 九、TopicShare 分享 Topic 管理\n\n" + body


def _parse(text: str, **kwargs):
    items, problems = parse_topic_archive(text, **kwargs)
    return {item.key: item for item in items}, [str(problem) for problem in problems]


def _import(text: str = README, *, dry_run: bool = False):
    items, problems = parse_topic_archive(text)
    return run_import(source_file="readme.md", items=items, problems=problems, dry_run=dry_run)


def test_parse_readme_items_in_file_order_with_seasons_domains_and_presenters():
    items, problems = parse_topic_archive(README)

    assert problems == []
    assert [
        (item.position, item.key, item.kind, item.title, item.season, item.domain,
         item.sub_theme, item.presenters, item.parent_key)
        for item in items
    ] == [
        (1, "Topic 5/自然语言处理/1", "talk", "XLNet", "Topic 5", "自然语言处理", "", ["玲玲"], ""),
        (2, "Topic 5/自然语言处理/2", "talk", "模型蒸馏", "Topic 5", "自然语言处理", "", ["李威"],
         ""),
        (3, "Topic 5/自然语言处理/2/1", "paper", "DistilBERT", "Topic 5", "自然语言处理", "", [],
         "Topic 5/自然语言处理/2"),
        (4, "Topic 5/自然语言处理/2/2", "paper", "FastBERT", "Topic 5", "自然语言处理", "", [],
         "Topic 5/自然语言处理/2"),
        (5, "Topic 5/自然语言处理/3", "talk", "Multi-Source Domain Adaptation with Mixture of "
         "Experts", "Topic 5", "自然语言处理", "", [], ""),
        (6, "Topic 5/图像处理/1", "talk", "CNN可解释性", "Topic 5", "图像处理", "", ["李国樑"], ""),
        (7, "Topic 5/图像处理/2", "talk", "MTCNN", "Topic 5", "图像处理", "", [], ""),
        (8, "Topic 5/图像处理/3", "talk", "基于元矩阵分解的联邦评分预测任务", "Topic 5", "图像处理",
         "", ["Honglei Zhang"], ""),
        (9, "Topic 3/自然语言处理/1", "talk", "【关于 实体关系联合抽取】 那些你不知道的事",
         "Topic 3", "自然语言处理", "", [], ""),
        (10, "Topic 3/自然语言处理/2", "talk", "GraphRel: Relational Graphs [ACL2019]", "Topic 3",
         "自然语言处理", "", ["杨夕"], ""),
        (11, "Topic 2/自然语言处理/1", "talk", "LCF: A Local Context Focus Mechanism for "
         "Aspect-Based Sentiment Classification", "Topic 2", "自然语言处理", "基于细粒度情感分析",
         ["杨夕"], ""),
        (12, "初期/推荐系统/1", "talk", "推荐系统综述", "初期", "推荐系统", "", ["Jepson"], ""),
        (13, "初期/推荐系统/2", "talk", "Attention Is All You Need", "初期", "推荐系统", "", [],
         ""),
        (14, "初期/推荐系统/2/1", "paper", "Transformer理论源码细节详解", "初期", "推荐系统", "",
         ["我是大好人"], "初期/推荐系统/2"),
    ]  # fmt: skip
    assert {item.year for item in items} == {None}


def test_parse_recording_link_with_labelled_code():
    items, _problems = _parse(README)

    xlnet = items["Topic 5/自然语言处理/1"]
    assert (xlnet.slides_url, xlnet.recording_url, xlnet.extraction_code, xlnet.note) == (
        "https://e.org/XLNet.pdf",
        "https://pan.baidu.com/s/1D",
        "g1ky",
        "",
    )


def test_parse_recording_link_with_a_space_and_a_code_without_label():
    items, _problems = _parse(README)

    distill = items["Topic 5/自然语言处理/2"]
    assert (distill.recording_url, distill.extraction_code) == (
        "https://pan.baidu.com/s/1kT0",
        "runl",
    )


def test_parse_paper_link_labelled_in_chinese_or_english():
    items, problems = _parse(
        _archive(
            "### Topic 7\n#### Topic 7 >> 自然语言处理\n"
            "1. [NER as Parsing](https://e.org/biaffine.pdf)【杨夕】【[论文](https://e.org/acl.pdf)】\n"
            "2. [Attention](https://e.org/post.pdf)【[paper](https://e.org/paper.pdf)】【丽萍】\n"
        )
    )

    assert problems == []
    assert [(item.paper_url, item.presenters) for item in items.values()] == [
        ("https://e.org/acl.pdf", ["杨夕"]),
        ("https://e.org/paper.pdf", ["丽萍"]),
    ]


def test_parse_note_block_is_kept_as_note_not_presenter():
    items, _problems = _parse(README)

    cnn = items["Topic 5/图像处理/1"]
    assert (cnn.presenters, cnn.note) == (["李国樑"], "视频有需要找负责人拿，谢谢")


@pytest.mark.parametrize(
    "block", ["资料整理中，稍后上传", "本期由两位同学共同完成", "slides will be uploaded later"]
)
def test_parse_sentences_in_blocks_are_notes(block):
    items, _problems = _parse(
        _archive(f"### Topic 7\n1. [SimCSE](https://e.org/s.pdf)【Lver】【{block}】")
    )

    assert (items["Topic 7/1"].presenters, items["Topic 7/1"].note) == (["Lver"], block)


def test_parse_empty_presenter_block_gives_no_presenter():
    items, _problems = _parse(README)

    mtcnn = items["Topic 5/图像处理/2"]
    assert (mtcnn.presenters, mtcnn.note) == ([], "")


def test_parse_title_link_to_pdf_or_pptx_is_slides_otherwise_source():
    items, _problems = _parse(README)

    assert [
        (items[key].slides_url, items[key].source_url)
        for key in ["Topic 5/自然语言处理/3", "Topic 5/图像处理/3", "Topic 5/图像处理/2",
                    "Topic 3/自然语言处理/1"]
    ] == [
        ("https://example.org/T5/MOE.pdf", ""),
        ("https://example.org/T5/MetaMF.pptx", ""),
        ("", "https://shimo.im/docs/p3dq#anchor-92e8"),
        ("", "https://github.com/km1994/T3/NLP/"),
    ]  # fmt: skip


def test_parse_child_links_are_papers_or_sources():
    items, _problems = _parse(README)

    distilbert = items["Topic 5/自然语言处理/2/1"]
    article = items["初期/推荐系统/2/1"]
    assert (distilbert.paper_url, distilbert.slides_url) == (
        "https://example.org/T5/DistilBERT.pdf",
        "",
    )
    assert (article.paper_url, article.source_url) == ("", "https://zhuanlan.zhihu.com/p/106867810")


def test_parse_plain_text_title_and_empty_link():
    items, _problems = _parse(README)

    survey = items["初期/推荐系统/1"]
    attention = items["初期/推荐系统/2"]
    assert (survey.title, survey.slides_url, survey.source_url, survey.paper_url) == (
        "推荐系统综述",
        "",
        "",
        "https://example.org/old/survey.pdf",
    )
    assert (attention.slides_url, attention.source_url) == ("", "")


def test_parse_blocks_in_any_order():
    items, problems = _parse(
        _archive(
            "### Topic 1\n#### Topic 1 >> 图像处理\n"
            "1. [DANet](https://e.org/DANet.pdf)【[视频](https://pan.baidu.com/s/x) 提取码: ab12】"
            "【[paper](https://e.org/p.pdf)】【蘇靜、以若】\n"
        )
    )

    danet = items["Topic 1/图像处理/1"]
    assert problems == []
    assert (danet.recording_url, danet.extraction_code, danet.paper_url, danet.presenters) == (
        "https://pan.baidu.com/s/x",
        "ab12",
        "https://e.org/p.pdf",
        ["蘇靜", "以若"],
    )


def test_parse_domain_heading_without_arrow_and_sub_themes():
    items, problems = _parse(
        _archive(
            "### Topic 8\n#### 推荐系统\n1. [DIN](https://e.org/din.pdf)【阿泽】\n"
            "##### 召回\n1. [DSSM](https://e.org/dssm.pdf)【星】\n"
            "#### 自然语言处理 之 文本匹配\n1. [ESIM](https://e.org/esim.pdf)【李文乐】\n"
            "### 说明\n"
        )
    )

    assert problems == []
    assert [(key, item.domain, item.sub_theme) for key, item in items.items()] == [
        ("Topic 8/推荐系统/1", "推荐系统", ""),
        ("Topic 8/推荐系统/2", "推荐系统", "召回"),
        ("Topic 8/自然语言处理/1", "自然语言处理", "文本匹配"),
    ]


def test_parse_heading_that_is_no_season_closes_the_season():
    items, problems = _parse(
        _archive("### Topic 8\n1. [DIN](https://e.org/din.pdf)\n### 说明\n1. 每周六分享\n")
    )

    assert list(items) == ["Topic 8/1"]
    assert problems == ["line 6: a numbered item outside any season heading; skipped."]


def test_parse_relative_links_resolved_against_base_url():
    text = _archive(
        "### Topic 5\n#### Topic 5 >> 推荐系统\n"
        "1. [DeepCF](Topic5/RES/deepcf.pdf)【Jespon】【[论文](../papers/deepcf.pdf)】\n"
    )

    items, problems = _parse(text, base_url="https://github.com/km1994/TopicShare/blob/master/")

    deepcf = items["Topic 5/推荐系统/1"]
    assert problems == []
    assert (deepcf.slides_url, deepcf.paper_url) == (
        "https://github.com/km1994/TopicShare/blob/master/Topic5/RES/deepcf.pdf",
        "https://github.com/km1994/TopicShare/blob/papers/deepcf.pdf",
    )


def test_parse_relative_link_without_base_url_is_a_problem_and_the_item_is_kept():
    text = _archive(
        "### Topic 5\n#### Topic 5 >> 推荐系统\n1. [DeepCF](Topic5/RES/deepcf.pdf)【Jespon】\n"
    )

    items, problems = _parse(text)

    assert (items["Topic 5/推荐系统/1"].slides_url, items["Topic 5/推荐系统/1"].presenters) == (
        "",
        ["Jespon"],
    )
    assert problems == [
        "line 5: “Topic5/RES/deepcf.pdf” is a relative link and no base address was given; "
        "left out."
    ]


def test_parse_ignores_table_of_contents_and_other_sections():
    items, _problems = _parse(README)

    titles = {item.title for item in items.values()}
    assert not titles & {"动机", "分享 Topic 管理", "Topic 发起表", "nlp_paper_study", "Topic 5",
                         "Planned, not presented yet"}  # fmt: skip
    assert len(items) == 14


def test_parse_file_without_an_archive_heading_reads_the_sections_with_seasons():
    text = (
        "# 往年分享\n\n- [Topic 1](#topic-1)\n\n## 说明\n\n1. 每周六 20:30 分享\n\n"
        "## 分享记录\n\n### Topic 1\n\n#### Topic 1 >> 图像处理 之 人脸识别\n\n"
        "1. [EfficientNet](https://e.org/efficientnet.pdf)【蘇靜】\n\n"
        "## 参考\n\n1. [nlp_paper_study](https://github.com/km1994/nlp_paper_study)\n"
    )

    items, problems = _parse(text)

    assert problems == []
    assert [(key, item.sub_theme, item.presenters) for key, item in items.items()] == [
        ("Topic 1/图像处理/1", "人脸识别", ["蘇靜"])
    ]


def test_parse_broken_lines_are_problems_with_their_line_numbers():
    text = (
        "1. [Too early](https://e.org/a.pdf)【杨夕】\n"  # line 1: before any season
        "### Topic 4\n"
        "#### Topic 4 >> 图像处理\n"
        "1. [YOLO](https://e.org/yolo.pdf【张文涛】\n"  # line 4: "(" never closed
        "2. [YOLO v2(https://e.org/yolo2.pdf)【张文涛】\n"  # line 5: "[" never closed
        "3. [SPP-Net](https://e.org/spp.pdf)【李国梁\n"  # line 6: "【" never closed
        "4. [Circle Loss](javascript:alert(1))【CJ】\n"  # line 7: not a web address
        "5. 【】\n"  # line 8: no title
        "6. [YOLO_V4](https://e.org/yolo4.pdf)【以若】\n"
    )

    items, problems = _parse(text)

    # A broken item keeps its place: mending it later does not renumber the ones after it.
    assert [(key, item.title, item.presenters) for key, item in items.items()] == [
        ("Topic 4/图像处理/4", "Circle Loss", ["CJ"]),
        ("Topic 4/图像处理/6", "YOLO_V4", ["以若"]),
    ]
    assert problems == [
        "line 1: a numbered item outside any season heading; skipped.",
        "line 4: the “(” of a link is never closed; skipped.",
        "line 5: a “[” is never closed; skipped.",
        "line 6: a “【” is never closed; skipped.",
        "line 7: “javascript:alert(1)” is not a web address (http or https); left out.",
        "line 8: the item has no title; skipped.",
    ]


def test_parse_sub_items_of_a_skipped_item_are_skipped_not_moved():
    text = _archive(
        "### Topic 4\n#### Topic 4 >> 自然语言处理\n1. [Kept](https://e.org/a.pdf)\n"
        "2. [Broken(https://e.org/b.pdf)\n   1. [Orphan](https://e.org/c.pdf)\n"
    )

    items, problems = _parse(text)

    assert list(items) == ["Topic 4/自然语言处理/1"]
    assert problems == [
        "line 6: a “[” is never closed; skipped.",
        "line 7: belongs to an item that was skipped; skipped.",
    ]


def test_parse_keys_are_stable_when_the_file_is_read_again_or_grows_elsewhere():
    first, _problems = _parse(README)
    grown = README.replace(
        "### Topic 3\n", "#### Topic 5 >> 推荐系统\n\n1. [DIN]()\n\n### Topic 3\n"
    )

    again, _problems = _parse(README)
    after_growing, _problems = _parse(grown)

    assert [(key, item.title) for key, item in again.items()] == [
        (key, item.title) for key, item in first.items()
    ]
    assert set(after_growing) - set(first) == {"Topic 5/推荐系统/1"}
    assert {key: after_growing[key].title for key in first} == {
        key: item.title for key, item in first.items()
    }


@pytest.mark.parametrize(
    "text",
    [
        "",
        "【",
        "1. [",
        "### Topic 1\n1. 【[",
        "#### >>\n1. x",
        "### Topic 1\n   1. [child first](https://e.org/a.pdf)",
        "### Topic 1\n```\n1. [in code](https://e.org/a.pdf)\n",
        "### Topic 1\n<!-- 1. [hidden](https://e.org/a.pdf)",
        "<!--" * 5000 + "-->",
        "### Topic 1\n1. [a](http://[::1)【b】",
        "### Topic 1\n1. " + "【" * 5000 + "】" * 5000,
        "### Topic 1\n1. " + "[" * 5000,
        "\\",
        '### Topic 1\n1. [a](<https://e.org/a b.pdf> "t")【\\】】',
    ],
)
def test_parse_odd_input_never_raises(text):
    items, problems = parse_topic_archive(text)

    assert all(isinstance(problem, Problem) for problem in problems)
    assert len({item.key for item in items}) == len(items)


def test_parse_commented_out_items_are_not_imported():
    items, problems = _parse(
        _archive("### Topic 1\n<!--\n1. [Old](https://e.org/old.pdf)\n-->\n1. [](x)\n")
    )

    assert items == {}
    assert problems == ["line 7: the item has no title; skipped."]


@pytest.mark.parametrize("value", [b"\xff\xfe\x00\x01", None, 42, "PK\x03\x04\x00\x00"])
def test_parse_input_that_is_not_text_fails(value):
    with pytest.raises(ImportFailed):
        parse_topic_archive(value)


@pytest.mark.django_db
def test_import_creates_items_seasons_domains_and_placeholder_presenters():
    report = _import()

    assert (report.created, report.updated, report.unchanged, report.problems) == (14, 0, 0, [])
    assert LibraryItem.objects.filter(parent__isnull=True).count() == 11
    assert sorted(Season.objects.values_list("label", flat=True)) == [
        "Topic 2",
        "Topic 3",
        "Topic 5",
        "初期",
    ]
    assert set(Track.objects.values_list("name_zh", flat=True)) >= {"自然语言处理", "图像处理",
                                                                     "推荐系统"}  # fmt: skip
    distill = LibraryItem.objects.get(source_file="readme.md", source_key="Topic 5/自然语言处理/2")
    assert (distill.season.label, distill.domain.name_zh) == ("Topic 5", "自然语言处理")
    assert [person.display_name for person in distill.presenters.all()] == ["李威"]
    assert User.objects.get(display_name="李威").is_placeholder is True
    assert sorted(child.title for child in distill.children.all()) == ["DistilBERT", "FastBERT"]
    assert {child.kind for child in distill.children.all()} == {"paper"}


@pytest.mark.django_db
def test_import_twice_changes_nothing_the_second_time():
    _import()

    report = _import()

    assert report.summary == "0 created, 0 updated, 14 unchanged, 0 problems"
    assert LibraryItem.objects.count() == 14
    assert User.objects.filter(is_placeholder=True).count() == 7


@pytest.mark.django_db
def test_import_dry_run_saves_nothing():
    report = _import(dry_run=True)

    assert (report.created, report.dry_run) == (14, True)
    assert LibraryItem.objects.count() == 0
    assert User.objects.filter(is_placeholder=True).count() == 0
    assert not Season.objects.filter(label="Topic 5").exists()


@pytest.mark.django_db
def test_import_presenter_with_an_account_of_that_name_is_that_account():
    yang = UserFactory(display_name="杨夕")

    _import()

    graph_rel = LibraryItem.objects.get(source_key="Topic 3/自然语言处理/2")
    assert list(graph_rel.presenters.all()) == [yang]


@pytest.mark.django_db
def test_import_unknown_email_presenter_is_a_problem_not_a_crash():
    text = _archive("### Topic 7\n1. [SimCSE](https://e.org/simcse.pdf)【lver@example.org】\n")

    report = _import(text)

    assert report.created == 1
    assert [str(problem) for problem in report.problems] == [
        "Topic 7/1: No account has the e-mail address “lver@example.org”."
    ]


@pytest.mark.django_db
def test_import_domain_whose_slug_is_taken_gets_another_slug():
    TrackFactory(slug="recsys", name_zh="推荐", name_en="Recommendation")
    text = _archive("### Topic 7\n#### RecSys!\n1. [DIN](https://e.org/din.pdf)\n")

    _import(text)

    assert LibraryItem.objects.get().domain.slug == "recsys-2"


@pytest.mark.django_db
def test_import_search_finds_an_imported_item_by_a_chinese_word():
    _import()

    # The word as typed (the vocabulary would add DistilBERT: tests/library/test_vocabulary.py).
    found = search(LibraryItem.objects.all(), "蒸馏", literal=True)

    assert [item.title for item in found] == ["模型蒸馏"]
