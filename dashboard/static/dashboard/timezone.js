/* rumvault help desk: times in the employee's time zone. No external resources.
   The server renders every time in the zone it knows (the profile's, else the
   browser's from the cookie set here, else UTC), with UTC in the title. This
   script tells the server the browser's zone for the next page, and, until
   the server knows it, shows this page's times in it too. */
(function () {
  "use strict";
  var zone;
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (error) {
    return;
  }
  if (!zone || !/^[A-Za-z0-9_+\-\/]{1,64}$/.test(zone)) {
    return;
  }
  var match = document.cookie.match(/(?:^|;\s*)rumvault_tz=([^;]*)/);
  if (!match || match[1] !== zone) {
    document.cookie = "rumvault_tz=" + zone + "; path=/dashboard; max-age=31536000; SameSite=Lax" +
      (window.location.protocol === "https:" ? "; Secure" : "");
  }
  var body = document.body;
  if (body.getAttribute("data-zone-source") === "profile" || body.getAttribute("data-zone") === zone) {
    return;
  }
  var format = new Intl.DateTimeFormat("en-US", {
    timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit",
    minute: "2-digit", second: "2-digit", hourCycle: "h23", timeZoneName: "short"
  });
  var times = document.querySelectorAll("time[data-local-time]");
  for (var i = 0; i < times.length; i++) {
    var parts = {};
    format.formatToParts(new Date(times[i].getAttribute("datetime"))).forEach(function (part) {
      parts[part.type] = part.value;
    });
    times[i].textContent = parts.year + "-" + parts.month + "-" + parts.day + " " + parts.hour +
      ":" + parts.minute + ":" + parts.second + " " + parts.timeZoneName;
  }
})();
