// A tiny DOM builder: every value becomes a text node or a property, never HTML, so data from the API
// cannot inject markup.
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (name === "className") {
      element.className = value;
    } else if (name === "dataset") {
      Object.assign(element.dataset, value);
    } else {
      element.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function replace(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

export function when(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}

export function time(iso) {
  return iso ? h("time", { datetime: iso }, when(iso)) : "—";
}

export function short(id, keep = 10) {
  if (!id) return "—";
  return id.length > keep + 6 ? `${id.slice(0, keep)}…${id.slice(-4)}` : id;
}

export function badge(status) {
  return h("span", { className: `badge badge-${String(status).toLowerCase().replace(/[^a-z]/g, "-")}` }, status);
}

// One field: a label, the input, and an inline message the API's validation error lands in.
export function field({ id, label, hint, ...input }) {
  const error = h("p", { className: "field-error", id: `${id}-error`, role: "alert" });
  const described = [hint ? `${id}-hint` : null, `${id}-error`].filter(Boolean).join(" ");
  const control = h(input.type === "select" ? "select" : "input", {
    id,
    name: id,
    "aria-describedby": described,
    ...Object.fromEntries(Object.entries(input).filter(([k]) => k !== "options" && !(k === "type" && input.type === "select"))),
  }, (input.options || []).map(([value, text]) => h("option", { value }, text)));
  return {
    element: h("div", { className: "field" }, h("label", { for: id }, label), hint ? h("p", { className: "hint", id: `${id}-hint` }, hint) : null, control, error),
    control,
    showError(message) {
      error.textContent = message || "";
      if (message) control.setAttribute("aria-invalid", "true");
      else control.removeAttribute("aria-invalid");
    },
  };
}

export function notice(kind, text) {
  return h("p", { className: `notice notice-${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}
