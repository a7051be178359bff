// The budget page: "Use my location" fills latitude and longitude from the browser (shown only where it can).
"use strict";
(function () {
  const button = document.getElementById("budget-locate");
  if (!button || !("geolocation" in navigator)) return;
  button.hidden = false;
  button.addEventListener("click", function () {
    navigator.geolocation.getCurrentPosition(function (position) {
      document.getElementById("budget-lat").value = position.coords.latitude.toFixed(5);
      document.getElementById("budget-lon").value = position.coords.longitude.toFixed(5);
    });
  });
})();
