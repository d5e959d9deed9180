// The demo shop's own code: a cart in localStorage, and the calls a shop makes to the
// agent's API (rumvault.product, rumvault.identifyUser). It reads the checkout form to
// pay, as any shop does; the agent itself never reads a form field.
(function () {
  "use strict";
  var CART = "demo-shop-cart";
  var main = document.getElementById("main");

  function agent(method, argument) {
    if (window.rumvault) window.rumvault[method](argument);
  }

  function cart() {
    try { return JSON.parse(localStorage.getItem(CART)) || []; } catch (error) { return []; }
  }

  function showCount() {
    document.getElementById("cart-count").textContent = String(cart().length);
  }

  function product() {
    return { sku: main.dataset.sku, name: main.dataset.name, price: main.dataset.price, currency: main.dataset.currency };
  }

  if (main.dataset.sku) {
    agent("product", Object.assign(product(), { event: "view" }));
    var photo = 1;
    document.getElementById("next-photo").addEventListener("click", function () {
      photo = (photo % 4) + 1;
      document.getElementById("photo-number").textContent = String(photo);
    });
    document.querySelectorAll(".size").forEach(function (button) {
      button.addEventListener("click", function () {
        document.querySelectorAll(".size").forEach(function (other) { other.setAttribute("aria-pressed", "false"); });
        button.setAttribute("aria-pressed", "true");
      });
    });
    document.getElementById("add-to-cart").addEventListener("click", function () {
      fetch("/demo-shop/api/cart", { method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ sku: main.dataset.sku }) })
        .then(function (response) {
          if (!response.ok) throw new Error("Cart unavailable");
          localStorage.setItem(CART, JSON.stringify(cart().concat([product()])));
          agent("product", Object.assign(product(), { event: "add_to_cart", quantity: 1 }));
          document.getElementById("cart-message").textContent = "Added to your cart.";
          showCount();
        });
    });
  }

  var list = document.getElementById("cart-items");
  if (list) {
    cart().forEach(function (item) {
      var entry = document.createElement("li");
      entry.textContent = item.name + " (" + item.price + " " + item.currency + ")";
      list.appendChild(entry);
    });
    document.getElementById("cart-empty").hidden = cart().length > 0;
  }

  var form = document.getElementById("checkout-form");
  if (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var email = form.elements.email.value;
      agent("identifyUser", email);
      var total = cart().reduce(function (sum, item) { return sum + Number(item.price); }, 0);
      // Like many shops, this one puts the customer's email in a URL; the agent masks it.
      fetch("/demo-shop/api/payment?order=A-" + Date.now() + "&email=" + encodeURIComponent(email), {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ amount: total.toFixed(2) })
      }).then(function (response) {
        if (response.ok) return;
        document.getElementById("payment-message").textContent = "Payment failed. Please try again later.";
        // An uncaught error with personal data in it, as real shops throw them.
        setTimeout(function () { throw new Error("Payment failed (" + response.status + ") for " + email); }, 0);
      });
    });
  }

  showCount();
})();
