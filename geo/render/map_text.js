// assetmap maps: show the page's community text (titles, legends, popups, tooltips) from its JSON block.
// Every string is set with textContent, never as HTML: a name typed by a person is always shown as text.
(function () {
  "use strict";
  var data = null;

  function text() {
    if (data === null) {
      var node = document.getElementById("assetmap-map-text");
      data = node ? JSON.parse(node.textContent) : { layers: [], title: null, legend: [] };
    }
    return data;
  }

  function el(tag, className, content) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (content !== undefined && content !== null) node.textContent = String(content);
    return node;
  }

  function valuesOf(spec, index) {
    var row = spec.rows[index] || [];
    var values = {};
    for (var i = 0; i < spec.columns.length; i++) {
      values[spec.columns[i]] = row[i] === undefined ? null : row[i];
    }
    return values;
  }

  function popupNode(spec, values) {
    var table = el("table", "assetmap-popup");
    var body = document.createElement("tbody");
    spec.popup.forEach(function (pair) {
      var tr = document.createElement("tr");
      tr.appendChild(el("th", "", pair[0]));
      var value = values[pair[1]];
      tr.appendChild(el("td", "", value === null || value === "" ? "\u2013" : value));
      body.appendChild(tr);
    });
    table.appendChild(body);
    return table;
  }

  function tooltipNode(spec, values) {
    var box = el("div", "assetmap-tooltip");
    spec.tooltip.forEach(function (column) {
      var value = values[column];
      if (value !== null && value !== "") box.appendChild(el("div", "", value));
    });
    return box;
  }

  // Give one Leaflet layer (a feature's shape or a marker) its text: properties, popup and tooltip.
  function attach(layer, key, index) {
    var spec = text().layers[key];
    if (!spec) return layer;
    var values = valuesOf(spec, index);
    var feature = layer.feature || { type: "Feature", properties: {} };
    feature.properties = Object.assign({}, feature.properties || {}, values);
    layer.feature = feature;
    if (spec.popup) {
      layer.bindPopup(function () { return popupNode(spec, values); }, { maxWidth: spec.maxWidth });
    }
    if (spec.tooltip) {
      layer.bindTooltip(function () { return tooltipNode(spec, values); }, { sticky: true });
    }
    return layer;
  }

  function bindLayers() {
    text().layers.forEach(function (spec, key) {
      if (!spec.layer) return;
      var group = window[spec.layer];
      if (!group || typeof group.eachLayer !== "function") return;
      group.eachLayer(function (layer) {
        if (layer.feature && typeof layer.feature.id === "number") attach(layer, key, layer.feature.id);
      });
    });
  }

  function symbolNode(symbol) {
    var node;
    if (symbol.kind === "dot") {
      node = el("span", "assetmap-dot");
      node.style.width = symbol.size + "px";
      node.style.height = symbol.size + "px";
      node.style.background = symbol.fill ? symbol.colour : "transparent";
      node.style.border = symbol.outlinePx + "px solid " + symbol.outline;
    } else if (symbol.kind === "line") {
      node = el("span", "assetmap-line");
      node.style.borderTop = symbol.widthPx + "px " + (symbol.dashed ? "dashed" : "solid") + " " + symbol.colour;
    } else {
      node = el("span", "assetmap-swatch");
      if (symbol.colour) node.style.background = symbol.colour;
      if (symbol.outline) node.style.border = "3px solid " + symbol.outline;
      if (symbol.icon) node.appendChild(el("i", "fa fa-" + symbol.icon));
    }
    return node;
  }

  function fillBoxes() {
    var title = text().title;
    var titleBox = document.getElementById("assetmap-title");
    if (title && titleBox) {
      titleBox.replaceChildren(el("h1", "", title.heading));
      title.lines.forEach(function (segments) {
        var line = el("p");
        segments.forEach(function (segment) { line.appendChild(el(segment[1] ? "strong" : "span", "", segment[0])); });
        titleBox.appendChild(line);
      });
    }
    var legendBox = document.getElementById("assetmap-legend");
    if (legendBox) {
      legendBox.replaceChildren();
      text().legend.forEach(function (section) {
        legendBox.appendChild(el("h2", "", section.heading));
        var list = el("ul");
        section.rows.forEach(function (row) {
          var item = el("li", row["class"] || "");
          item.appendChild(symbolNode(row.symbol));
          item.appendChild(el("span", "", row.text));
          list.appendChild(item);
        });
        legendBox.appendChild(list);
      });
    }
  }

  window.assetmapMapText = { attach: attach };
  document.addEventListener("DOMContentLoaded", function () {
    bindLayers();
    fillBoxes();
  });
})();
