"""Time `import_library` on a 1,000-article Zhihu column export (target: under 5 s), on a
throwaway SQLite database. Prints figures; asserts nothing about time.

    .venv/bin/python bench/import_zhihu.py            # BENCH_ARTICLES=1000 by default
"""

import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "topicshare.settings.test"
_tmp = tempfile.mkdtemp(prefix="topicshare-bench-import-")
os.environ["DATABASE_URL"] = f"sqlite:///{_tmp}/bench.sqlite3"
os.environ.pop("REDIS_URL", None)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from library.importers.detect import import_library  # noqa: E402
from library.importers.zhihu import parse_zhihu  # noqa: E402
from library.models import LibraryItem, Tag  # noqa: E402

ARTICLES = int(os.environ.get("BENCH_ARTICLES", "1000"))
TOPICS = [
    "自然语言处理", "深度学习（Deep Learning）", "机器学习", "推荐系统", "词向量", "向量",
    "计算机视觉", "知识图谱", "命名实体识别", "文本分类", "预训练模型", "BERT", "Transformer",
    "强化学习", "图神经网络", "搜索引擎", "信息检索", "广告算法", "用户画像", "召回",
]  # fmt: skip
SENTENCE = (
    "下游NLP任务在使用Word Embedding的时候也类似图像有两种做法，一种是Frozen，就是Word "
    "Embedding那层网络参数固定不动；另外一种是Fine-Tuning，就是这层参数使用新的训练集合训练"
    "也需要跟着训练过程更新掉。"
)


def article_html(rng: random.Random, number: int) -> str:
    """About 6 KB in the markup Zhihu's exporter writes: redirect links, lazy pictures, code."""
    parts = [f"<p>第{number}篇：{SENTENCE}<b>重点</b>在于{SENTENCE[:40]}</p>"]
    for section in range(1, 6):
        parts.append(f"<h2>{section}. 小节标题 {number}</h2>")
        parts.append(f"<p>{SENTENCE}</p>")
        parts.append(
            '<p><a href="https://link.zhihu.com/?target=https%3A//github.com/example/'
            f'repo-{number}-{section}" class=" wrap external" target="_blank" '
            f'rel="nofollow noreferrer">参考代码 {section}</a></p>'
        )
        parts.append(
            f"<ul><li>{SENTENCE[:30]}</li><li>{SENTENCE[30:60]}</li>"
            '<li onclick="x()">要点</li></ul>'
        )
        if rng.random() < 0.5:
            picture = f"https://pic{section}.zhimg.com/v2-{number:06d}{section}_b.jpg"
            parts.append(
                f'<figure data-size="normal"><noscript><img src="{picture}" data-rawwidth="1862" '
                f'class="origin_image zh-lightbox-thumb" width="1862"/></noscript>'
                '<img src="data:image/svg+xml;utf8,&lt;svg xmlns=&#39;http://www.w3.org/2000/svg'
                '&#39;&gt;&lt;/svg&gt;" class="origin_image zh-lightbox-thumb lazy" '
                f'data-actualsrc="{picture}"/></figure>'
            )
        if rng.random() < 0.3:
            parts.append(
                '<div class="highlight"><pre><code class="language-text">python run.py '
                f"--task {number} --epochs 3 &amp;&amp; echo done</code></pre></div>"
            )
    parts.append("<script>alert('not kept')</script>")
    return "".join(parts)


def export(count: int) -> bytes:
    rng = random.Random(20240601)
    articles = [
        {
            "url": f"https://zhuanlan.zhihu.com/p/{50_000_000 + number}",
            "userName": f"作者{number % 37}",
            "userLink": f"https://www.zhihu.com/people/author-{number % 37}",
            "upvote": rng.randrange(0, 5000),
            "title": f"自然语言处理中的词向量（{number}）",
            "content": article_html(rng, number),
            "topic": [{"tag": tag} for tag in rng.sample(TOPICS, 3)],
            "created": 1_546_272_000 + number * 86_400,
            "comments": [],
        }
        for number in range(count)
    ]
    column = {"title": "机器学习笔记", "followers": [], "article": articles}
    return json.dumps(column, ensure_ascii=False).encode()


def timed(label: str, run) -> object:
    reset_queries()
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        result = run()
        seconds = time.perf_counter() - started
    print(f"{label:<34} {seconds:7.2f} s  {len(queries):6d} queries")
    return result


def main() -> None:
    call_command("migrate", verbosity=0)
    data = export(ARTICLES)
    print(f"{ARTICLES} articles, {len(data) / 1024 / 1024:.1f} MB of JSON (target: < 5 s)")

    items, _problems = timed("parse + sanitise only", lambda: parse_zhihu(data))
    report = timed("import (new database)", lambda: import_library(data=data, name="column.json"))
    print(f"  {report.summary}")
    again = timed(
        "import again (nothing changed)", lambda: import_library(data=data, name="column.json")
    )
    print(f"  {again.summary}")
    print(
        f"library: {LibraryItem.objects.count()} items, {Tag.objects.count()} tags; "
        f"{sum(len(item.content_html.encode()) for item in items) / len(items) / 1024:.1f} KB "
        "of HTML per article after sanitising"
    )


if __name__ == "__main__":
    main()
