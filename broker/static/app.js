// The storefront's only script, served from the shop's own origin. It keeps the receipt
// code (the order capability) in this browser only, and sends the address to delivery and
// reads the settlement status straight from those services: never through the shop.
"use strict";

(function () {
  const body = document.body;
  const SETTLEMENT = body.dataset.settlement;
  const DELIVERY = body.dataset.delivery;
  const $ = (sel) => document.querySelector(sel);

  document.querySelectorAll(".js-only").forEach((el) => { el.hidden = false; });

  // A form that places an order or a payment is sent once: a second click does nothing.
  document.querySelectorAll("form").forEach((form) => {
    const once = form.querySelector("[data-once]");
    if (!once) return;
    form.addEventListener("submit", (ev) => {
      if (form.dataset.sent) { ev.preventDefault(); return; }
      form.dataset.sent = "1";
      once.disabled = true;
    });
  });

  // ---- where the receipt code is kept: this tab (sessionStorage) by default, this
  // browser (localStorage) only when the buyer asks.
  const keyOf = (orderId) => "mp.receipt." + orderId;
  const kept = (orderId) => sessionStorage.getItem(keyOf(orderId)) || localStorage.getItem(keyOf(orderId));
  const keep = (orderId, code, remember) => {
    sessionStorage.setItem(keyOf(orderId), code);
    if (remember) localStorage.setItem(keyOf(orderId), code);
  };
  const forget = (orderId) => {
    sessionStorage.removeItem(keyOf(orderId));
    localStorage.removeItem(keyOf(orderId));
  };

  // The order id a receipt code is for (its `sub`), or null.
  function orderOf(code) {
    try {
      const part = code.trim().split(".")[1];
      const json = atob(part.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((part.length + 3) % 4));
      const claims = JSON.parse(json);
      return claims.role === "capability" || claims.sub ? { id: claims.sub, exp: claims.exp } : null;
    } catch (e) {
      return null;
    }
  }

  // ---- the receipt page
  const receipt = $("#receipt");
  if (receipt) {
    const orderId = receipt.dataset.orderId;
    const code = $("#capability").value.trim();
    if (code) keep(orderId, code, false);
    $("#copy")?.addEventListener("click", () => {
      $("#capability").select();
      if (navigator.clipboard) navigator.clipboard.writeText(code).catch(() => document.execCommand("copy"));
      else document.execCommand("copy");
    });
    $("#remember")?.addEventListener("change", (ev) => {
      if (ev.target.checked) localStorage.setItem(keyOf(orderId), code);
      else localStorage.removeItem(keyOf(orderId));
    });
  }

  // ---- opening an order from a receipt code
  const finder = $("#receipt-form");
  if (finder) {
    finder.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const code = $("#receipt-code").value.trim();
      const o = orderOf(code);
      if (!o || !o.id) {
        $("#receipt-code-error").textContent = "This is not a receipt code from this shop.";
        return;
      }
      keep(o.id, code, false);
      location.href = "/shop/orders/" + encodeURIComponent(o.id);
    });
    const list = $("#kept-orders");
    for (let i = 0; i < localStorage.length; i++) {
      const k = localStorage.key(i);
      if (!k.startsWith("mp.receipt.")) continue;
      const id = k.slice("mp.receipt.".length);
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = "/shop/orders/" + encodeURIComponent(id);
      a.textContent = "Order " + id + " (kept in this browser)";
      li.appendChild(a);
      list.appendChild(li);
    }
  }

  // ---- the order page
  const orderBox = $("#order");
  if (!orderBox) return;
  const orderId = orderBox.dataset.orderId;
  const demoPay = orderBox.dataset.demoPay === "1";

  function money(m) {
    if (!m || typeof m.amount !== "number") return "";
    const digits = ["JPY", "KRW", "ISK", "CLP", "VND", "XAF", "XOF", "UGX", "PYG"].includes(m.currency) ? 0 : 2;
    const sign = m.amount < 0 ? "-" : "";
    const a = Math.abs(m.amount);
    if (digits === 0) return sign + a + " " + m.currency;
    return sign + Math.floor(a / 100) + "." + String(a % 100).padStart(2, "0") + " " + m.currency;
  }

  async function call(base, method, path, code, payload) {
    const init = { method, headers: { Authorization: "Bearer " + code, Accept: "application/json" }, credentials: "omit", referrerPolicy: "no-referrer" };
    if (payload !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(payload);
    }
    const r = await fetch(base + path, init);
    let data = null;
    try { data = await r.json(); } catch (e) { data = null; }
    return { status: r.status, ok: r.ok, data: data || {} };
  }

  function needCode(message) {
    $("#order-view").hidden = true;
    $("#need-code").hidden = false;
    $("#code-problem").textContent = message || "";
  }

  $("#code-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const code = $("#code").value.trim();
    const o = orderOf(code);
    if (!o || o.id !== orderId) {
      $("#code-problem").textContent = "This receipt code is not for this order.";
      return;
    }
    keep(orderId, code, false);
    load();
  });

  $("#forget-code").addEventListener("click", () => {
    forget(orderId);
    needCode("The receipt code was removed from this browser.");
  });

  function showError(prefix, problem) {
    const field = problem.data && problem.data.field;
    const target = (field && document.getElementById(prefix + field + "-error")) || null;
    const detail = (problem.data && (problem.data.detail || problem.data.title)) || "The request failed (" + problem.status + ").";
    return { target, detail };
  }

  let code = null;

  async function load() {
    code = kept(orderId);
    if (!code) return needCode("");
    const o = orderOf(code);
    if (!o || o.id !== orderId) return needCode("The kept receipt code is not for this order.");
    if (o.exp && o.exp * 1000 < Date.now()) return needCode("This receipt code has expired.");
    const order = await call("", "GET", "/v1/orders/" + encodeURIComponent(orderId), code);
    if (order.status === 401) {
      return needCode(order.data.code === "token_expired" ? "This receipt code has expired." : "This receipt code is not valid.");
    }
    if (order.status === 403) return needCode("This receipt code is not for this order.");
    if (!order.ok) return needCode(order.data.detail || "The order could not be read.");
    $("#need-code").hidden = true;
    $("#order-view").hidden = false;
    const v = order.data;
    $("#o-product").textContent = v.product_name + " × " + v.quantity;
    $("#o-store").textContent = v.store ? v.store.name : "";
    $("#o-amount").textContent = money(v.amount);
    $("#o-status").textContent = v.status.replace(/_/g, " ") + (v.reason ? " (" + v.reason + ")" : "");
    orderBox.dataset.status = v.status;

    const paid = await call(SETTLEMENT, "GET", "/v1/orders/" + encodeURIComponent(orderId) + "/settlement", code).catch(() => null);
    $("#o-payment").textContent = paid && paid.ok ? paid.data.status.replace(/_/g, " ") + (paid.data.paid ? " · paid " + money(paid.data.paid) : "") : "not known yet";
    const canPay = v.status === "awaiting_payment" && !(paid && paid.ok && ["captured", "released"].includes(paid.data.status));
    $("#pay-box").hidden = !(canPay && demoPay);
    if (canPay && demoPay) {
      const due = paid && paid.ok && paid.data.expected ? paid.data.expected : v.amount;
      $("#pay-link").href = "/demo-pay/" + encodeURIComponent(orderId) + "?amount=" + due.amount + "&currency=" + encodeURIComponent(due.currency);
      $("#pay-link").textContent = "Pay " + money(due) + " with Demo Pay (a demo partner)";
    }

    const ship = await call(DELIVERY, "GET", "/v1/shipments/" + encodeURIComponent(orderId), code).catch(() => null);
    const legs = $("#legs");
    legs.replaceChildren();
    if (ship && ship.ok) {
      const s = ship.data;
      $("#o-shipment").textContent = s.status.replace(/_/g, " ") + (s.delivered && s.status !== "delivered" ? " · delivered" : "");
      orderBox.dataset.shipment = s.status;
      (s.legs || []).forEach((leg, i) => {
        const li = document.createElement("li");
        li.textContent = "Leg " + (i + 1) + " to " + (leg.to || "you") + ": " + String(leg.status).replace(/_/g, " ");
        legs.appendChild(li);
      });
      $("#eta").textContent = s.estimated_delivery ? "Expected by " + new Date(s.estimated_delivery).toLocaleDateString() : "";
      $("#o-pin").textContent = s.pin || "";
    } else {
      $("#o-shipment").textContent = "starts once paid";
    }
    const closed = ["cancelled", "delivered", "completed", "expired", "disputed", "refunded", "partially_refunded"].includes(v.status);
    const toAccept = v.status === "delivered" && !v.accepted_at;
    $("#accept-box").hidden = !toAccept;
    $("#accept-by").textContent = toAccept && v.accept_by
      ? "If you do nothing, it is accepted for you on " + new Date(v.accept_by).toLocaleString() + "." : "";
    $("#accepted").hidden = !v.accepted_at;
    const mayDispute = !v.dispute_id && !v.accepted_at && ["paid", "shipped", "delivered"].includes(v.status);
    $("#dispute-box").hidden = !mayDispute;
    await loadDispute(v.dispute_id);
    $("#cancel-box").hidden = closed || v.status === "shipped" || v.status === "cancel_requested";
    $("#address-box").hidden = closed;
    await loadMessages();
  }

  let disputeId = null;

  async function loadDispute(id) {
    disputeId = id || null;
    $("#dispute-view").hidden = !id;
    if (!id) return;
    const r = await call("", "GET", "/v1/orders/" + encodeURIComponent(orderId) + "/disputes/" + encodeURIComponent(id), code);
    if (!r.ok) return;
    const d = r.data;
    $("#d-status").textContent = d.status.replace(/_/g, " ");
    $("#d-respond").textContent = new Date(d.respond_by).toLocaleString();
    $("#d-offer").textContent = d.offer ? d.offer.refund_percent + " % back (" + money(d.offer.refund) + "), until " + new Date(d.offer.expires_at).toLocaleString() : "none";
    $("#d-decision").textContent = d.decision ? d.decision.outcome + ": " + money(d.decision.refund) + " back to you" : "not yet";
    $("#d-offer-actions").hidden = d.status !== "offered";
    const list = $("#d-thread");
    list.replaceChildren();
    (d.messages || []).forEach((m) => {
      const li = document.createElement("li");
      const who = document.createElement("strong");
      who.textContent = ({ buyer: "You", store: "The store", arbiter: "The arbiter" }[m.from] || m.from) + ": ";
      li.appendChild(who);
      li.appendChild(document.createTextNode(m.text));
      list.appendChild(li);
    });
  }

  $("#dispute-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const button = $("#open-dispute");
    if (button.disabled) return;
    button.disabled = true;
    $("#dispute-error").textContent = "";
    const body = { reason: $("#dispute-reason").value, message: $("#dispute-message").value };
    const r = await call("", "POST", "/v1/orders/" + encodeURIComponent(orderId) + "/disputes", code, body);
    if (r.ok) await load();
    else $("#dispute-error").textContent = showError("", r).detail;
    button.disabled = false;
  });

  async function disputeStep(step) {
    if (!disputeId) return;
    $("#d-error").textContent = "";
    const path = "/v1/orders/" + encodeURIComponent(orderId) + "/disputes/" + encodeURIComponent(disputeId) + "/" + step;
    const r = await call("", "POST", path, code);
    if (r.ok) await load();
    else $("#d-error").textContent = showError("", r).detail;
  }
  $("#take-offer").addEventListener("click", () => disputeStep("accept"));
  $("#escalate").addEventListener("click", () => disputeStep("escalate"));

  async function loadMessages() {
    const r = await call("", "GET", "/v1/orders/" + encodeURIComponent(orderId) + "/messages", code);
    const list = $("#messages");
    list.replaceChildren();
    if (!r.ok) return;
    (r.data.messages || []).forEach((m) => {
      const li = document.createElement("li");
      const who = document.createElement("strong");
      who.textContent = (m.author === "buyer" ? "You" : "The store") + ": ";
      li.appendChild(who);
      li.appendChild(document.createTextNode(m.body));
      list.appendChild(li);
    });
  }

  function clearErrors(form) {
    form.querySelectorAll(".field-error").forEach((e) => { e.textContent = ""; });
  }

  $("#address-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const form = ev.target;
    clearErrors(form);
    const button = $("#send-address");
    button.disabled = true;
    const data = {};
    new FormData(form).forEach((value, key) => {
      const v = String(value).trim();
      if (v !== "" || key !== "line2") data[key] = v;
    });
    try {
      const r = await call(DELIVERY, "PUT", "/v1/shipments/" + encodeURIComponent(orderId) + "/address", code, data);
      if (r.ok) {
        form.hidden = true;
        $("#address-done").hidden = false;
        form.reset();
      } else {
        const e = showError("a-", r);
        (e.target || $("#address-error")).textContent = e.detail;
      }
    } catch (e) {
      $("#address-error").textContent = "The carrier could not be reached. Nothing was sent; try again.";
    }
    button.disabled = false;
  });

  $("#message-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const form = ev.target;
    clearErrors(form);
    const button = form.querySelector("button");
    if (button.disabled) return;
    button.disabled = true;
    const r = await call("", "POST", "/v1/orders/" + encodeURIComponent(orderId) + "/messages", code, { body: $("#message").value });
    if (r.ok) {
      $("#message").value = "";
      await loadMessages();
    } else {
      $("#message-error").textContent = showError("", r).detail;
    }
    button.disabled = false;
  });

  $("#accept-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const button = $("#accept");
    if (button.disabled) return;
    button.disabled = true;
    $("#accept-error").textContent = "";
    const r = await call("", "POST", "/v1/orders/" + encodeURIComponent(orderId) + "/accept", code);
    if (r.ok) await load();
    else $("#accept-error").textContent = showError("", r).detail;
    button.disabled = false;
  });

  $("#cancel-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const form = ev.target;
    clearErrors(form);
    const button = $("#cancel");
    if (button.disabled) return;
    button.disabled = true;
    const r = await call("", "POST", "/v1/orders/" + encodeURIComponent(orderId) + "/cancel", code, { reason: $("#cancel-reason").value });
    if (r.ok) await load();
    else $("#cancel-error").textContent = showError("", r).detail;
    button.disabled = false;
  });

  load();
  // Tracking moves on by itself while the page is open.
  setInterval(() => {
    if (code && !document.hidden && !["completed", "cancelled", "expired"].includes(orderBox.dataset.status)) load();
  }, 5000);
})();
