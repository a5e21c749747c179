"""A price import in Chromium (SPEC P-CAT-5): a back-office user uploads a file, watches the
progress bar fill as the job checks the rows, and downloads the report of rejected ones."""

import codecs
import csv
import io
import threading
import time

import pytest

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "Import-parol-2026!"
ROWS = 400
BAD_LINES = {41: "12,345", 202: "-1", 350: "abc"}


def _catalog():
    from django.contrib.auth.models import Permission

    from kabinet.accounts.models import User
    from kabinet.geo.models import Region
    from kabinet.pharma.catalog.models import Category, Manufacturer, PriceList, Product

    user = User.objects.create_user(username="catalog-admin", password=PASSWORD, is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="add_importjob"))
    PriceList.objects.create(
        code="base", name="Базовый", is_base=True, region=Region.objects.get(code="77")
    )
    maker = Manufacturer.objects.create(name="Фармстандарт", country="Россия")
    root = Category.objects.create(name="Лекарственные средства", path="0001.")
    Product.objects.bulk_create(
        Product(
            code=f"T{n:04d}",
            trade_name=f"Товар {n}",
            manufacturer=maker,
            country="Россия",
            category=root,
        )
        for n in range(ROWS)
    )


def _price_file() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(["Код", "Цена"])
    for n in range(ROWS):
        line = n + 2
        writer.writerow([f"T{n:04d}", BAD_LINES.get(line, f"{100 + n},50")])
    return out.getvalue().encode("utf-8-sig")


def _run_job_slowly(monkeypatch):
    """The live server has no worker: run the queue in a thread, slowed down so that the page
    sees the bar move through real progress updates of the job."""
    from django.db import connection

    from kabinet.notifications.testing import run_pending_jobs
    from kabinet.pharma.catalog import imports

    check = imports._PriceChecker.check

    def slow_check(self, row):
        time.sleep(0.01)
        return check(self, row)

    monkeypatch.setattr(imports._PriceChecker, "check", slow_check)
    monkeypatch.setattr(imports, "PROGRESS_EVERY", 20)

    def work():
        try:
            run_pending_jobs()
        finally:
            connection.close()

    thread = threading.Thread(target=work)
    thread.start()
    return thread


def test_price_import_with_progress_and_report(page, monkeypatch, tmp_path):
    from kabinet.pharma.catalog.models import ImportJob, Price

    _catalog()
    page.context.clear_cookies()
    page.goto(page.base_url + "/admin/login/?next=/pharma/backoffice/imports/new/")
    page.fill("#id_username", "catalog-admin")
    page.fill("#id_password", PASSWORD)
    page.locator("input[type=submit]").click()
    page.get_by_role("heading", name="Загрузка каталога, цен или остатков").wait_for()

    page.get_by_label("цены").check()
    page.get_by_label("Файл CSV или XLSX").set_input_files(
        {"name": "prices.csv", "mimeType": "text/csv", "buffer": _price_file()}
    )
    page.get_by_role("button", name="Загрузить").click()
    page.get_by_role("heading", name="Цены: prices.csv").wait_for()
    job = ImportJob.objects.get()
    assert job.status == "queued"
    assert page.locator("#import-bar").get_attribute("value") == "0"

    thread = _run_job_slowly(monkeypatch)
    try:
        # The bar moves while the rows are being checked, before the job is done.
        page.wait_for_function(
            "() => { const v = document.getElementById('import-bar').value; "
            "return v > 0 && v < 100; }",
            timeout=15_000,
        )
        screenshot(page, "pharma-import-progress")
        page.get_by_role("link", name="Скачать отчёт об отклонённых строках").wait_for(
            timeout=30_000
        )
    finally:
        thread.join(timeout=60)
    assert page.locator("#import-bar").get_attribute("value") == "100"
    assert page.locator('[data-field="accepted_rows"]').inner_text() == str(ROWS - 3)
    assert page.locator('[data-field="rejected_rows"]').inner_text() == "3"
    screenshot(page, "pharma-import-done")

    job.refresh_from_db()
    assert (job.status, job.accepted_rows, job.rejected_rows) == ("done", ROWS - 3, 3)
    assert Price.objects.count() == ROWS - 3

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Скачать отчёт об отклонённых строках").click()
    path = tmp_path / "report.csv"
    download_info.value.save_as(path)
    content = path.read_bytes()
    assert content.startswith(codecs.BOM_UTF8)
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))
    assert rows == [
        ["строка", "данные", "причина"],
        ["41", "T0039; 12,345", 'цена "12,345" — не больше двух знаков после запятой'],
        ["202", "T0200; -1", 'цена "-1" — должна быть больше нуля'],
        ["350", "T0348; abc", 'цена "abc" — не число'],
    ]

    page.goto(page.base_url + "/pharma/backoffice/imports/")
    assert page.get_by_role("link", name="prices.csv").is_visible()
    assert page.console_errors == []
