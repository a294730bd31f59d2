/* The night patrol's service worker: shows a push as a notification that rings,
   vibrates and stays until it is handled, and opens the escalation when tapped.
   The push says only that there is something to open (notifications/push.py). */
"use strict";

const ICON = "{{ icon|escapejs }}";
const PATROL_URL = new URL("{{ patrol_url|escapejs }}", self.location.origin).href;

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch (error) {
    data = {};
  }
  const options = {
    body: data.body || "",
    icon: ICON,
    badge: ICON,
    // One notification per escalation; a reminder replaces it and rings again.
    tag: data.tag || "escalation",
    renotify: true,
    // Stays on the screen until the patrol acts: an escalation is not a passing message.
    requireInteraction: true,
    silent: false,
    vibrate: data.urgent === false ? [300, 150, 300] : [600, 200, 600, 200, 1200],
    data: { url: new URL(data.url || PATROL_URL, self.location.origin).href },
  };
  event.waitUntil(self.registration.showNotification(data.title || "Nattillsyn", options));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = (event.notification.data && event.notification.data.url) || PATROL_URL;
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((windows) => {
      for (const client of windows) {
        if (client.url.startsWith(PATROL_URL) && "focus" in client) {
          return client.focus().then((focused) => (focused && "navigate" in focused ? focused.navigate(url) : focused));
        }
      }
      return self.clients.openWindow(url);
    }),
  );
});
