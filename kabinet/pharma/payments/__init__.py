"""Payment building blocks for orders (SPEC P-PAY-1…3, P-NEXT-4).

* `words` — `amount_in_words(kopecks)`: «Одна тысяча двести тридцать четыре рубля 50 копеек».
* `gost_qr` — `payment_payload(...)`, `parse_payload(text)`, `qr_png(payload)`: the
  bank-transfer QR code of ГОСТ Р 56042-2014, with the payee's account checked against its BIC.
* `invoice_pdf` — `render_invoice(InvoiceData) -> bytes`: the «Счёт на оплату» PDF with the
  bank block, the lines, VAT per rate, the amount in words and the QR code.
* `bank_statement` — `parse_statement(bytes) -> Statement` for 1CClientBankExchange files and
  `match_payments(documents, open_invoices, our_account=...)`, which places each incoming
  payment on an invoice (paid, partial, overpaid) or says why it cannot.
* `providers` — `PaymentProvider` (`create_payment`, `parse_webhook`, `fetch_status`), the
  demo's `TestBankProvider` (HMAC-signed webhooks) and `YooKassaProvider` (API v3; webhooks
  trusted by source address and a re-fetch); `get_provider(name)`.

* `models` — `Payment`, unique per (provider, provider_payment_id); `BankStatement` and its
  `BankStatementDocument`s; `services` — invoice PDF of an order, starting an online payment,
  applying a webhook event under the Payment's row lock, `credit_order`; `statements` —
  uploading a statement and assigning its unmatched documents by hand; `credit` — the
  organisation's credit limit and outstanding debt; `selectors` and `backoffice` — the back
  office's statements, payments and «Дебиторка» pages; `views` — invoice download, the test
  bank's page and the webhook endpoint; `statement_file` — writing a statement (the samples).

How the order code uses them:

* Paying by invoice: the invoice of an order is the order (its number, its organisation, its
  unpaid remainder); `render_invoice` draws it from the order's lines, the organisation and
  the distributor's bank details. The back office uploads a bank statement: `parse_statement`,
  then `match_payments` against the open invoices (orders by invoice or on deferral, neither
  cancelled nor paid), whose order rows are locked first; each match becomes a succeeded
  Payment of the provider «bank» and credits the order; the unmatched ones wait for a person.
* Paying online: a `Payment` row is created first (its id is the provider's idempotency key and
  goes into metadata), then `provider.create_payment`, and the buyer is redirected to
  `confirmation_url`. The webhook view calls `parse_webhook` and hands the event to a service.
* A payment is never applied twice: the unique (provider, provider_payment_id) — for statement
  documents the provider is «bank» and the id is the payer's account, the date, the number and
  the amount of the document — and the service applying an event locks the Payment row, checks
  the amount against its own, and changes its status only from pending, so a webhook delivered
  twice, or a webhook and a status poll, change nothing the second time.
"""
