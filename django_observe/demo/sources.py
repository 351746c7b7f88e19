"""Stack frames of the demo's imaginary shop, in the shape the error store keeps them (sentry-sdk's event format)."""

from __future__ import annotations

from typing import Any

SITE = "/usr/local/lib/python3.12/site-packages/"


def _django(module: str, function: str, lineno: int) -> dict[str, Any]:
    path = module.replace(".", "/") + ".py"
    return {"filename": path, "abs_path": SITE + path, "module": module, "function": function, "lineno": lineno, "in_app": False}


def _app(module: str, function: str, lineno: int, source: list[str], current: int, variables: dict[str, str]) -> dict[str, Any]:
    """A frame of the project's own code; ``source`` is the function's text, ``current`` the index of the failing line."""
    path = module.replace(".", "/") + ".py"
    return {
        "filename": path,
        "abs_path": "/srv/shop/" + path,
        "module": module,
        "function": function,
        "lineno": lineno,
        "in_app": True,
        "pre_context": source[max(0, current - 5) : current],
        "context_line": source[current],
        "post_context": source[current + 1 : current + 6],
        "vars": variables,
    }


_HANDLER = [
    _django("django.core.handlers.exception", "inner", 55),
    _django("django.core.handlers.base", "_get_response", 197),
]

_ADD_ITEM = [
    "@require_POST",
    "def add_item(request: HttpRequest) -> HttpResponse:",
    "    cart = Cart.for_request(request)",
    "    payload = json.loads(request.body)",
    '    quantity = int(payload.get("quantity", 1))',
    '    product = get_object_or_404(Product, sku=payload["sku"])',
    "    cart.add(product, quantity)",
    "    return JsonResponse(cart.summary())",
]

_PAY = [
    "@require_POST",
    "def pay(request: HttpRequest) -> HttpResponse:",
    '    order = get_object_or_404(Order, pk=request.session["order_id"])',
    "    try:",
    "        receipt = gateway.charge(order.total, order.card_token, idempotency_key=order.number)",
    "    except gateway.Declined as declined:",
    '        return render(request, "checkout/declined.html", {"reason": declined.reason})',
    "    order.mark_paid(receipt)",
]

_CHARGE = [
    "def charge(amount: Decimal, card_token: str, idempotency_key: str) -> Receipt:",
    '    body = {"amount": str(amount), "source": card_token, "currency": "EUR"}',
    "    try:",
    "        response = session.post(ACME_PAY_URL, json=body, timeout=10,",
    '                                headers={"Idempotency-Key": idempotency_key})',
    "    except requests.Timeout as timeout:",
    '        raise TimeoutError("payment gateway did not answer within 10 s") from timeout',
    "    response.raise_for_status()",
    "    return Receipt.from_json(response.json())",
]

_PRODUCT_LIST = [
    "def product_list(request: HttpRequest) -> HttpResponse:",
    '    category = request.GET.get("category")',
    '    page = int(request.GET.get("page", 1))',
    "    products = Product.objects.filter(active=True)",
    "    if category:",
    "        products = products.filter(category__slug=category)",
    '    paginator = Paginator(products.order_by("name"), 24)',
    '    return render(request, "catalog/list.html", {"page": paginator.page(page)})',
]

FRAMES: dict[str, dict[str, Any]] = {
    "cart": {
        "module": None,
        "frames": [
            *_HANDLER,
            _app(
                "shop.cart.views",
                "add_item",
                41,
                _ADD_ITEM,
                5,
                {
                    "request": "<WSGIRequest: POST '/cart/add/'>",
                    "cart": "<Cart 8812: 2 items>",
                    "payload": "{'quantity': 2, 'product': 'TSHIRT-M-BLUE'}",
                    "quantity": "2",
                },
            ),
        ],
    },
    "payment": {
        "module": None,
        "frames": [
            *_HANDLER,
            _app(
                "shop.checkout.views",
                "pay",
                77,
                _PAY,
                4,
                {
                    "request": "<WSGIRequest: POST '/checkout/pay/'>",
                    "order": "<Order 2026-11-4127: 59.90 EUR>",
                },
            ),
            _app(
                "shop.payments.gateway",
                "charge",
                33,
                _CHARGE,
                6,
                {
                    "amount": "Decimal('59.90')",
                    "card_token": "[Filtered]",
                    "idempotency_key": "'2026-11-4127'",
                    "body": "{'amount': '59.90', 'source': '[Filtered]', 'currency': 'EUR'}",
                    "timeout": "ReadTimeout(ReadTimeoutError(\"HTTPSConnectionPool(host='api.acme-pay.example', port=443): Read "
                    'timed out."))',
                },
            ),
        ],
    },
    "database": {
        "module": "django.db.utils",
        "frames": [
            *_HANDLER,
            _app(
                "shop.catalog.views",
                "product_list",
                18,
                _PRODUCT_LIST,
                7,
                {
                    "request": "<WSGIRequest: GET '/products/'>",
                    "category": "None",
                    "page": "1",
                },
            ),
            _django("django.db.models.query", "__iter__", 400),
            _django("django.db.backends.base.base", "ensure_connection", 279),
            _django("psycopg.connection", "connect", 119),
        ],
    },
    "paging": {
        "module": None,
        "frames": [
            *_HANDLER,
            _app(
                "shop.catalog.views",
                "product_list",
                13,
                _PRODUCT_LIST,
                2,
                {
                    "request": "<WSGIRequest: GET '/products/?page=abc'>",
                    "category": "None",
                },
            ),
        ],
    },
}
