import io
import json

import pytest
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import include, path

from library.admin_import import import_view
from library.importers.detect import MAX_BYTES
from library.models import LibraryItem
from members.roles import Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# The import page is wired into LibraryItemAdmin.get_urls by library/admin.py; these tests use
# their own URL (this module is the URLconf) so that the view's own permission check is what runs.
urlpatterns = [
    path("library-import/", lambda request: import_view(request, admin.site), name="import"),
    path("", include("topicshare.urls")),
]
with_import_urls = pytest.mark.urls(__name__)
# The admin pages follow the browser's language; these tests read the English messages.
ENGLISH = {"Accept-Language": "en"}

READING_LIST = """\
## 推荐

### 召回

1. 深度召回在招聘推荐中的挑战和实践
   https://mp.weixin.qq.com/s/mcET
2. [阿里飞猪个性化推荐：召回篇](https://mp.weixin.qq.com/s/323D)  值得一看
3. 还没找到链接的文章
"""
ZHIHU = json.dumps(
    {
        "title": "机器学习笔记",
        "article": [
            {
                "url": "https://zhuanlan.zhihu.com/p/54874433",
                "title": "自然语言处理中句向量",
                "userName": "皓轩",
                "upvote": 33,
                "content": "<p>句向量<script>alert(1)</script></p>",
                "topic": [{"tag": "自然语言处理"}],
            }
        ],
    },
    ensure_ascii=False,
)


def _run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_library", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def reading_list(tmp_path):
    file = tmp_path / "reading-list.md"
    file.write_text(READING_LIST, encoding="utf-8")
    return file


# --- The command ---------------------------------------------------------------------------


def test_command_imports_and_prints_the_summary_and_problems(reading_list):
    out, err = _run(str(reading_list))

    assert out == "Imported: 2 created, 0 updated, 0 unchanged, 1 problems.\n"
    assert err == "line 8: “还没找到链接的文章” has no link; skipped.\n"
    assert sorted(LibraryItem.objects.values_list("title", "source_file")) == [
        ("深度召回在招聘推荐中的挑战和实践", "reading-list.md"),
        ("阿里飞猪个性化推荐：召回篇", "reading-list.md"),
    ]


def test_command_second_run_creates_nothing(reading_list):
    _run(str(reading_list))

    out, _err = _run(str(reading_list))

    assert out == "Imported: 0 created, 0 updated, 2 unchanged, 1 problems.\n"
    assert LibraryItem.objects.count() == 2


def test_command_dry_run_saves_nothing(reading_list):
    out, _err = _run(str(reading_list), "--dry-run")

    assert out == "Dry run, nothing was saved: 2 created, 0 updated, 0 unchanged, 1 problems.\n"
    assert LibraryItem.objects.count() == 0


def test_command_reads_a_zhihu_export(tmp_path):
    file = tmp_path / "column.json"
    file.write_bytes(ZHIHU.encode())

    out, err = _run(str(file))

    assert (out, err) == ("Imported: 1 created, 0 updated, 0 unchanged, 0 problems.\n", "")
    assert LibraryItem.objects.get().content_html == "<p>句向量</p>"


def test_command_format_and_base_url_options(tmp_path):
    file = tmp_path / "notes.txt"
    file.write_text("## 精读\n- [ALBERT](./content/albert.md) 精读完成\n", encoding="gbk")

    out, _err = _run(
        str(file), "--format", "reading-list", "--base-url", "https://github.com/a/b/blob/master/"
    )

    assert out == "Imported: 1 created, 0 updated, 0 unchanged, 0 problems.\n"
    assert LibraryItem.objects.get().source_url == (
        "https://github.com/a/b/blob/master/content/albert.md"
    )


def test_command_missing_file_is_an_error(tmp_path):
    with pytest.raises(CommandError, match=r"^Cannot read .*missing\.md: No such file"):
        _run(str(tmp_path / "missing.md"))


def test_command_unknown_format_is_an_error(reading_list):
    with pytest.raises(CommandError, match="invalid choice: 'csv'"):
        _run(str(reading_list), "--format", "csv")


def test_command_malformed_json_is_an_error_and_saves_nothing(tmp_path):
    file = tmp_path / "column.json"
    file.write_text('{"article": [', encoding="utf-8")

    with pytest.raises(CommandError, match=r"^Nothing was imported: The file is not valid JSON"):
        _run(str(file))
    assert LibraryItem.objects.count() == 0


def test_command_refuses_a_file_over_20_mb(tmp_path):
    file = tmp_path / "huge.md"
    file.write_bytes(b"-" * (MAX_BYTES + 1))

    with pytest.raises(CommandError, match=r"^The file is larger than 20 MB"):
        _run(str(file))


# --- The admin page ------------------------------------------------------------------------


@with_import_urls
def test_admin_import_view_shows_the_form_with_dry_run_on(client, organiser):
    client.force_login(organiser)

    response = client.get("/library-import/")

    assert response.status_code == 200
    assert response.context["form"]["dry_run"].value() is True
    assert response.context["form"]["format"].value() == "auto"
    assert b'enctype="multipart/form-data"' in response.content


@with_import_urls
def test_admin_import_view_imports_for_an_organiser(client, organiser):
    client.force_login(organiser)
    upload = SimpleUploadedFile("reading-list.md", READING_LIST.encode("gbk"))

    response = client.post("/library-import/", {"file": upload, "format": "auto"}, headers=ENGLISH)

    assert response.status_code == 200
    assert response.context["report"].summary == "2 created, 0 updated, 0 unchanged, 1 problems"
    assert [str(m) for m in response.context["messages"]] == [
        "Imported: 2 created, 0 updated, 0 unchanged, 1 problems."
    ]
    assert "“还没找到链接的文章” has no link; skipped." in response.content.decode()
    assert LibraryItem.objects.count() == 2


@with_import_urls
def test_admin_import_view_dry_run_saves_nothing(client, organiser):
    client.force_login(organiser)
    upload = SimpleUploadedFile("column.json", ZHIHU.encode())

    response = client.post(
        "/library-import/", {"file": upload, "format": "zhihu", "dry_run": "on"}, headers=ENGLISH
    )

    assert response.status_code == 200
    assert response.context["report"].created == 1
    assert "Dry run: nothing was saved" in response.content.decode()
    assert LibraryItem.objects.count() == 0


@with_import_urls
def test_admin_import_view_shows_why_a_file_cannot_be_read(client, organiser):
    client.force_login(organiser)
    upload = SimpleUploadedFile("column.json", b'{"article": [')

    response = client.post("/library-import/", {"file": upload, "format": "auto"}, headers=ENGLISH)

    assert response.status_code == 200
    assert response.context["report"] is None
    assert response.context["form"].errors == {
        "file": ["The file is not valid JSON: Expecting value (line 1, column 14)."]
    }


@with_import_urls
@pytest.mark.parametrize("role", [Role.AUDIENCE, Role.MEMBER, Role.COMMITTEE])
def test_admin_import_view_is_forbidden_to_others(client, role):
    client.force_login(UserFactory(role=role))

    response = client.post(
        "/library-import/", {"file": SimpleUploadedFile("a.md", READING_LIST.encode())}
    )

    assert response.status_code == 403
    assert LibraryItem.objects.count() == 0
