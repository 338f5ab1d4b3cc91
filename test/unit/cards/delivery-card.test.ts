/** @jest-environment jsdom */
import type { AdaptiveCard } from '../../../src/cards/adaptive-card';
import { renderDelivery, shellWord } from '../../../src/cards/delivery-card';
import { Verb } from '../../../src/cards/verbs';
import {
  appId,
  kubernetesWorkload,
  otherWorkload,
  ownerRotation,
  requests,
  revealedSecret,
  tenantId,
} from './card-samples';
import { objectsOfType, strings, texts } from './card-walk';
import { buttons, all, runs } from './request-card-helpers';

/** Each labelled id of the card: a Container of a label TextBlock and a value TextBlock. */
function idLines(card: AdaptiveCard): string[][] {
  return objectsOfType(card, 'Container')
    .map((c) => (Array.isArray(c.items) ? (c.items as Array<Record<string, unknown>>) : []))
    .filter((items) => items.length === 2 && items.every((i) => i.type === 'TextBlock') && items[1]!.wrap === false)
    .map((items) => items.map((i) => String(i.text)));
}

/** The token request as Teams shows it (its code block), and as other hosts do (the fallback's lines). */
function tokenRequest(card: AdaptiveCard): { code: string; lines: string[] } {
  const block = objectsOfType(card, 'CodeBlock').find((b) => String(b.codeSnippet).startsWith('curl '));
  if (!block) throw new Error('the card has no code block with the token request');
  return { code: String(block.codeSnippet), lines: runs(block.fallback as AdaptiveCard) };
}

describe('delivery card', () => {
  const secretText = revealedSecret.text;

  test('when a secret is ready, then the card offers Reveal and says the secret is made at that click and shown once', () => {
    const card = renderDelivery({ request: requests.provisioned(), tenantId, state: 'ready' });
    expect(buttons(card)).toEqual([
      expect.objectContaining({
        title: 'Reveal client secret',
        verb: Verb.deliveryReveal,
        data: { requestId: 'F3K92M7Q' },
      }),
    ]);
    expect(all(card)).toContain(
      'Registrar creates the secret when you click Reveal client secret, and shows it to you once',
    );
    expect(all(card)).toContain('It will be valid for 180 days from that click.');
  });

  test('when the secret is revealed, then it is shown unchanged in a monospace TextRun, with its expiry, the check and a warning', () => {
    const card = renderDelivery({
      request: requests.provisioned(),
      tenantId,
      state: 'revealed',
      secret: revealedSecret,
    });
    const run = objectsOfType(card, 'TextRun').find((r) => r.text === secretText);
    expect(run).toMatchObject({ fontType: 'Monospace' });
    // In Teams' code block (with its copy button), and in the TextRun of its fallback for other hosts; nowhere else.
    expect(
      strings(card)
        .filter((s) => s.value.includes(secretText))
        .map((s) => `${String(s.owner.type)}.${s.key}`),
    ).toEqual(['CodeBlock.codeSnippet', 'TextRun.text']);
    const [code] = objectsOfType(card, 'CodeBlock').filter((b) => b.codeSnippet === secretText);
    expect(code).toMatchObject({ id: 'clientSecretCode', fallback: { type: 'RichTextBlock', id: 'clientSecret' } });
    const text = all(card);
    expect(text).toContain('Valid until 30 Aug 2026, 10:00 UTC.');
    expect(text).toContain('A token was issued with this secret: it works.');
    expect(text).toContain('It disappears from this card in a few minutes');
    expect(buttons(card)).toEqual([
      expect.objectContaining({
        title: 'I have stored it',
        verb: Verb.deliveryStored,
        data: { requestId: 'F3K92M7Q' },
      }),
    ]);
  });

  test('when the secret is not accepted yet, then the card says Entra ID needs a few minutes', () => {
    const card = renderDelivery({
      request: requests.provisioned(),
      tenantId,
      state: 'revealed',
      secret: { ...revealedSecret, check: 'pending' },
    });
    expect(all(card)).toContain('Entra ID has not started accepting it yet; this usually takes a few minutes.');
  });

  test('when the secret is stored, then the card holds only its hint and expiry, never the secret', () => {
    const card = renderDelivery({
      request: requests.delivered(),
      tenantId,
      state: 'stored',
      stored: { hint: 'Q_e', endDateTime: revealedSecret.endDateTime },
    });
    expect(JSON.stringify(card)).not.toContain(secretText);
    expect(all(card)).toContain('Client secret Q_e… (its first characters), valid until 30 Aug 2026, 10:00 UTC');
    expect(buttons(card)).toEqual([]);
  });

  test('when a card other than the revealed one is rendered, then the secret is nowhere in it', () => {
    for (const state of ['ready', 'stored'] as const) {
      const card = renderDelivery({ request: requests.delivered(), tenantId, state, secret: revealedSecret });
      expect(JSON.stringify(card)).not.toContain(secretText);
    }
  });

  test('when the card explains how to use the secret, then it names the variables and gives a token request without the secret', () => {
    const card = renderDelivery({
      request: requests.provisioned(),
      tenantId,
      state: 'revealed',
      secret: revealedSecret,
    });
    const text = runs(card);
    expect(text).toEqual(
      expect.arrayContaining([
        `AZURE_TENANT_ID=${tenantId}`,
        `AZURE_CLIENT_ID=${appId}`,
        'AZURE_CLIENT_SECRET=<your client secret>',
      ]),
    );
    const curl = text.filter((t) => t.startsWith('curl') || t.startsWith('-d') || t.startsWith('--data')).join('\n');
    expect(curl).toBe(
      [
        `curl -X POST https://login.microsoftonline.com/${tenantId}/oauth2/v2.0/token \\`,
        '-d grant_type=client_credentials \\',
        `-d client_id=${appId} \\`,
        '--data-urlencode "client_secret=$AZURE_CLIENT_SECRET" \\',
        '-d scope=https://graph.microsoft.com/.default',
      ].join('\n'),
    );
    expect(curl).not.toContain(secretText);
  });

  test('when the tenant is in a national cloud, then the token request uses its endpoints', () => {
    const card = renderDelivery({
      request: requests.provisioned(),
      tenantId,
      state: 'ready',
      endpoints: { login: 'https://login.microsoftonline.us/', graph: 'https://graph.microsoft.us' },
    });
    expect(runs(card)).toEqual(
      expect.arrayContaining([
        `curl -X POST https://login.microsoftonline.us/${tenantId}/oauth2/v2.0/token \\`,
        '-d scope=https://graph.microsoft.us/.default',
      ]),
    );
  });

  test('when the card is rendered, then each id has its own line, labelled as in the Entra admin center, in monospace and never wrapped, and what was granted follows', () => {
    const card = renderDelivery({ request: requests.provisioned(), tenantId, state: 'ready' });
    expect(idLines(card)).toEqual([
      ['Application (client) ID', appId],
      ['Directory (tenant) ID', tenantId],
      ['Object ID', '0c1d2e3f-0000-4000-8000-0000000000a1'],
      ['Enterprise application object ID', '0c1d2e3f-0000-4000-8000-0000000000b2'],
    ]);
    const values = objectsOfType(card, 'TextBlock').filter((b) => b.text === appId || b.text === tenantId);
    expect(values.map((b) => [b.fontType, b.wrap])).toEqual([
      ['Monospace', false],
      ['Monospace', false],
    ]);
    expect(texts(card)).toEqual(
      expect.arrayContaining([
        'Mail.Send (application, Microsoft Graph)',
        'Directory role: User Administrator, to create and manage users and groups, reset passwords of non-administrators (for example a B2C password reset)',
      ]),
    );
  });

  test('when the app has a certificate, then the card confirms its thumbprint and expiry, offers no reveal and names the certificate variable', () => {
    const card = renderDelivery({ request: requests.certificate('delivered'), tenantId, state: 'ready' });
    const text = all(card);
    expect(buttons(card)).toEqual([]);
    expect(texts(card)).toEqual(
      expect.arrayContaining([
        'Thumbprint',
        '3F2A9C7B1D4E5F60718293A4B5C6D7E8F9012345',
        'Valid until',
        '1 Mar 2027, 00:00 UTC',
      ]),
    );
    expect(text).toContain('AZURE_CLIENT_CERTIFICATE_PATH');
    expect(text).not.toMatch(/client secret|curl/i);
  });

  test('when the app has no credential, then the card shows the ids only', () => {
    const card = renderDelivery({ request: requests.publicClient(), tenantId, state: 'ready' });
    expect(buttons(card)).toEqual([]);
    expect(all(card)).not.toMatch(/AZURE_|curl|Reveal/);
    expect(idLines(card).slice(0, 2)).toEqual([
      ['Application (client) ID', appId],
      ['Directory (tenant) ID', tenantId],
    ]);
  });

  test('when the revealed state has no secret, then rendering fails instead of showing a card without it', () => {
    expect(() => renderDelivery({ request: requests.provisioned(), tenantId, state: 'revealed' })).toThrow(
      /needs the secret/,
    );
  });

  test('when a message is given, then it is shown', () => {
    const message =
      'This secret was already revealed. To get a new one, ask for a rotation with `rotate Payroll sync`.';
    expect(texts(renderDelivery({ request: requests.delivered(), tenantId, state: 'stored', message }))).toContain(
      message,
    );
  });

  test('when Mail.Send was scoped in Exchange, then the card gives the Exchange administrator the commands with the app id and service principal object id, and says nothing was granted tenant-wide', () => {
    const card = renderDelivery({ request: requests.scoped('provisioned'), tenantId, state: 'ready' });
    const text = texts(card);
    expect(all(card)).toContain('Next step: scope the app in Exchange Online');
    expect(all(card)).toContain('declared on the app without tenant-wide consent, so the app reaches no mailbox yet');
    expect(text).toEqual(
      expect.arrayContaining([
        'Mail.Send (application, Microsoft Graph: declared, not granted tenant-wide; scoped in Exchange)',
        `New-ServicePrincipal -AppId ${appId} -ObjectId 0c1d2e3f-0000-4000-8000-0000000000b2 -DisplayName 'Payroll sync'`,
        `New-ManagementRoleAssignment -App ${appId} -Role "Application Mail.Send" -CustomResourceScope "registrar-F3K92M7Q"`,
        `Test-ServicePrincipalAuthorization -Identity ${appId} -Resource payroll@contoso.com | Format-Table`,
      ]),
    );
    expect(text.some((t) => t.includes('Remove-MgServicePrincipalAppRoleAssignment'))).toBe(false);
  });

  test('when Mail.Send was granted tenant-wide, then the card says so and how it could be scoped', () => {
    const text = texts(renderDelivery({ request: requests.provisioned(), tenantId, state: 'ready' }));
    expect(text).toContain('Mailbox access: every mailbox');
    expect(text.find((t) => t.startsWith('Get-MgServicePrincipalAppRoleAssignment'))).toContain(
      '-ServicePrincipalId 0c1d2e3f-0000-4000-8000-0000000000b2',
    );
    expect(text.find((t) => t.startsWith('New-ManagementRoleAssignment'))).toContain(`-App ${appId}`);
  });

  test('when the app has no mailbox permission, then there is no Exchange section', () => {
    expect(all(renderDelivery({ request: requests.certificate('delivered'), tenantId, state: 'stored' }))).not.toMatch(
      /Exchange/,
    );
  });
  test('when the bot runs against the local tenant, then the token request names its CA bundle for curl, quoted for the shell, in the code block and in its fallback alike', () => {
    const card = renderDelivery({
      request: requests.provisioned(),
      tenantId,
      state: 'ready',
      endpoints: {
        login: 'https://127.0.0.1:8443/',
        graph: 'https://127.0.0.1:8443',
        caFile: "/srv/Bob's data/ca-bundle.pem",
      },
    });
    const expected = [
      `curl -X POST https://127.0.0.1:8443/${tenantId}/oauth2/v2.0/token \\`,
      "--cacert '/srv/Bob'\\''s data/ca-bundle.pem' \\",
      '-d grant_type=client_credentials \\',
      `-d client_id=${appId} \\`,
      '--data-urlencode "client_secret=$AZURE_CLIENT_SECRET" \\',
      '-d scope=https://127.0.0.1:8443/.default',
    ];
    expect(tokenRequest(card)).toEqual({ code: expected.join('\n'), lines: expected });
  });

  test('when the bot runs against a real cloud, then the token request has no --cacert', () => {
    const card = renderDelivery({
      request: requests.provisioned(),
      tenantId,
      state: 'ready',
      endpoints: { login: 'https://login.microsoftonline.com', graph: 'https://graph.microsoft.com' },
    });
    expect(tokenRequest(card).code).not.toContain('--cacert');
    expect(tokenRequest(card).code.split('\n')[0]).toBe(
      `curl -X POST https://login.microsoftonline.com/${tenantId}/oauth2/v2.0/token \\`,
    );
  });

  test('when a word needs quoting for the shell, then shellWord quotes it so that the shell reads it back unchanged', () => {
    expect(shellWord('/home/alex/.registrar/ca-bundle.pem')).toBe('/home/alex/.registrar/ca-bundle.pem');
    expect(shellWord('C:/Users/Alex Smith/ca.pem')).toBe("'C:/Users/Alex Smith/ca.pem'");
    expect(shellWord("it's $HOME")).toBe("'it'\\''s $HOME'");
  });

  test('when the environment variables are shown, then Teams gets them in one code block to copy, with the lines as its fallback', () => {
    const card = renderDelivery({ request: requests.provisioned(), tenantId, state: 'ready' });
    const block = objectsOfType(card, 'CodeBlock').find((b) => String(b.codeSnippet).startsWith('AZURE_'));
    const lines = [
      `AZURE_TENANT_ID=${tenantId}`,
      `AZURE_CLIENT_ID=${appId}`,
      'AZURE_CLIENT_SECRET=<your client secret>',
    ];
    expect(block?.codeSnippet).toBe(lines.join('\n'));
    expect(runs(block?.fallback as AdaptiveCard)).toEqual(lines);
  });

  describe('a rotation', () => {
    test('when the new secret is ready, then the card says it is a new client secret for the app, what changes and what stays, and shows no request id', () => {
      const card = renderDelivery({ request: ownerRotation('provisioned'), tenantId, state: 'ready' });
      const text = all(card);
      expect(text).toContain('New client secret for Expense Bot');
      expect(text).toContain(
        'What changes: Expense Bot gets a new client secret, valid for 180 days from the moment you reveal it.',
      );
      expect(text).toContain(
        'What stays: the app itself, its Application (client) ID, its permissions and owners, and its other credentials: its current client secret Ex3… (expires 30 Nov 2026, 08:00 UTC) keeps working until you remove it.',
      );
      expect(text).not.toMatch(/Your app registration is ready|What was granted|No API permissions|Request /);
      expect(text).not.toContain('DNH5ZYME');
      // The id stays in the button's data, which nobody reads.
      expect(buttons(card)).toEqual([
        expect.objectContaining({ verb: Verb.deliveryReveal, data: { requestId: 'DNH5ZYME' } }),
      ]);
      expect(idLines(card)).toEqual([
        ['Application (client) ID', 'a1e5c0de-0000-4000-9000-000000000203'],
        ['Directory (tenant) ID', tenantId],
      ]);
    });

    test('when the new secret is revealed or stored, then the card says until when it is valid', () => {
      const revealed = renderDelivery({
        request: ownerRotation('provisioned'),
        tenantId,
        state: 'revealed',
        secret: revealedSecret,
      });
      expect(all(revealed)).toContain(
        'What changes: Expense Bot gets a new client secret, valid until 30 Aug 2026, 10:00 UTC.',
      );
      const stored = renderDelivery({ request: ownerRotation('delivered'), tenantId, state: 'stored' });
      expect(all(stored)).toContain(
        'What changes: Expense Bot gets a new client secret, valid until 22 May 2027, 08:05 UTC.',
      );
      expect(all(stored)).not.toContain('DNH5ZYME');
    });
  });

  describe('a federated credential', () => {
    const snippet = (card: AdaptiveCard) => {
      const block = objectsOfType(card, 'CodeBlock').find((b) => b.id === 'federatedSnippet');
      if (!block) throw new Error('the card has no code block with the federated snippet');
      return { code: String(block.codeSnippet), language: block.language, lines: runs(block.fallback as AdaptiveCard) };
    };
    const delivered = (
      workload?: Record<string, string>,
      endpoints?: Parameters<typeof renderDelivery>[0]['endpoints'],
    ) =>
      renderDelivery({
        request: requests.federated('delivered', workload),
        tenantId,
        state: 'ready',
        ...(endpoints ? { endpoints } : {}),
      });

    test('when it is delivered, then there is nothing to reveal: no button, no secret, no certificate, and the card says why', () => {
      const card = delivered();
      expect(buttons(card)).toEqual([]);
      const text = all(card);
      expect(text).toContain(
        'No secret or key exists, so there is nothing to reveal or to store. Entra ID gives tokens of this app only to GitHub Actions in contoso/payments, environment production.',
      );
      expect(text).not.toMatch(
        /client secret|AZURE_CLIENT_SECRET|AZURE_CLIENT_CERTIFICATE_PATH|Thumbprint|private key/i,
      );
      expect(objectsOfType(card, 'CodeBlock').map((b) => b.id)).toEqual(['federatedSnippet']);
    });

    test('when it is delivered, then the card shows the app and tenant ids, and the credential name, issuer, subject and audience Entra ID holds', () => {
      const card = delivered();
      expect(idLines(card).slice(0, 2)).toEqual([
        ['Application (client) ID', appId],
        ['Directory (tenant) ID', tenantId],
      ]);
      const request = requests.federated('delivered');
      const name = request.provisioning.federatedCredential?.name;
      expect(name).toMatch(/^github-contoso-payments-environment-production-[0-9a-f]{8}$/);
      const text = all(card);
      for (const line of [
        `Name\n${name}`,
        'Issuer\nhttps://token.actions.githubusercontent.com',
        'Subject\nrepo:contoso/payments:environment:production',
        'Audience\napi://AzureADTokenExchange',
      ])
        expect(text).toContain(line);
    });

    test('when the workload is GitHub Actions in an environment, then the snippet is a job in that environment with id-token: write and azure/login@v2 with the real ids', () => {
      const { code, language, lines } = snippet(delivered());
      expect(code).toBe(
        [
          'on: workflow_dispatch',
          '',
          'jobs:',
          '  sign-in:',
          '    runs-on: ubuntu-latest',
          '    environment: production',
          '    permissions:',
          '      id-token: write',
          '      contents: read',
          '    steps:',
          '      - uses: azure/login@v2',
          '        with:',
          `          client-id: ${appId}`,
          `          tenant-id: ${tenantId}`,
          '          allow-no-subscriptions: true',
          '      - run: az account show',
        ].join('\n'),
      );
      // Teams has no YAML highlighting; hosts without CodeBlock get the same lines in monospace.
      expect(language).toBe('PlainText');
      expect(lines).toEqual(code.split('\n').map((line) => line || ' '));
      expect(all(delivered())).toContain('The job must name the environment production');
    });

    test.each([
      ['a branch', 'branch', 'release/2026', ['on:', '  push:', '    branches: [release/2026]']],
      ['a tag', 'tag', 'v1.0', ['on:', '  push:', '    tags: [v1.0]']],
      ['a name YAML would read as something else', 'branch', 'true', ['on:', '  push:', "    branches: ['true']"]],
      ['pull requests', 'pullRequest', '', ['on: pull_request']],
    ])(
      'when the workload is GitHub Actions for %s, then the workflow is triggered by it and its job names no environment',
      (_name, entity, entityName, trigger) => {
        const { code } = snippet(
          delivered({
            federatedWorkload: 'github',
            githubOrganization: 'contoso',
            githubRepository: 'payments',
            githubEntity: entity,
            githubEntityName: entityName,
          }),
        );
        expect(code.split('\n').slice(0, trigger.length)).toEqual(trigger);
        expect(code).not.toContain('environment:');
        expect(code).toContain('      id-token: write');
      },
    );

    test('when the workload is a Kubernetes service account, then the snippet annotates it with the client id and labels its pod for workload identity', () => {
      const card = delivered(kubernetesWorkload);
      const { code } = snippet(card);
      const lines = code.split('\n');
      expect(lines.slice(0, 8)).toEqual([
        'apiVersion: v1',
        'kind: ServiceAccount',
        'metadata:',
        '  name: payments-api',
        '  namespace: payments',
        '  annotations:',
        `    azure.workload.identity/client-id: "${appId}"`,
        `    azure.workload.identity/tenant-id: "${tenantId}"`,
      ]);
      expect(lines).toEqual(
        expect.arrayContaining(['    azure.workload.identity/use: "true"', '  serviceAccountName: payments-api']),
      );
      expect(all(card)).toContain('Subject\nsystem:serviceaccount:payments:payments-api');
    });

    test('when the workload is of another issuer, then the snippet is the client credentials request with its token as a jwt-bearer client_assertion', () => {
      const { code, language } = snippet(
        delivered(otherWorkload, {
          login: 'https://127.0.0.1:8443',
          graph: 'https://127.0.0.1:8443',
          caFile: '/srv/ca.pem',
        }),
      );
      expect(language).toBe('Bash');
      expect(code).toBe(
        [
          `curl -X POST https://127.0.0.1:8443/${tenantId}/oauth2/v2.0/token \\`,
          '--cacert /srv/ca.pem \\',
          '-d grant_type=client_credentials \\',
          `-d client_id=${appId} \\`,
          '-d scope=https://127.0.0.1:8443/.default \\',
          '-d client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer \\',
          '--data-urlencode "client_assertion=$WORKLOAD_TOKEN"',
        ].join('\n'),
      );
      expect(all(delivered(otherWorkload))).toContain(
        'The workload’s token must say iss https://oidc.example.com, sub deploy-bot and aud api://AzureADTokenExchange, exactly',
      );
    });

    test('when the stored workload holds template or markdown syntax, then the card shows it as text and expands nothing', () => {
      const request = requests.federated('delivered');
      const credential = request.form.credential;
      if (credential.kind !== 'federated' || credential.workload.kind !== 'github') throw new Error('fixture changed');
      const tampered = {
        ...request,
        form: {
          ...request.form,
          credential: { ...credential, workload: { ...credential.workload, entityName: "${appId} **x** it's" } },
        },
      };
      const card = renderDelivery({ request: tampered, tenantId, state: 'ready' });
      const { code } = snippet(card);
      expect(code).toContain("    environment: '$\u200b{appId} **x** it''s'");
      expect(JSON.stringify(card)).not.toContain('${');
    });
  });
});
