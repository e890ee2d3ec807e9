import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router'
import { useAuth } from '@/stores/auth'
import { useToasts } from '@/stores/toasts'

declare module 'vue-router' {
  interface RouteMeta {
    title: string
    public?: boolean
    admin?: boolean
  }
}

const routes: RouteRecordRaw[] = [
  { path: '/', redirect: () => (useAuth().isAdmin ? '/admin/books' : '/coupons') },
  { path: '/login', component: () => import('@/views/LoginView.vue'), meta: { title: 'Sign in', public: true } },
  { path: '/register', component: () => import('@/views/RegisterView.vue'), meta: { title: 'Create an account', public: true } },
  { path: '/coupons', component: () => import('@/views/MyCouponsView.vue'), meta: { title: 'My coupons' } },
  { path: '/admin/books', component: () => import('@/views/admin/BooksView.vue'), meta: { title: 'Books', admin: true } },
  { path: '/admin/books/:id', component: () => import('@/views/admin/BookView.vue'), props: true, meta: { title: 'Book', admin: true } },
  { path: '/admin/users', component: () => import('@/views/admin/UsersView.vue'), meta: { title: 'Users', admin: true } },
  { path: '/admin/pools', component: () => import('@/views/admin/PoolsView.vue'), meta: { title: 'Pools', admin: true } },
  { path: '/admin/pools/:id', component: () => import('@/views/admin/PoolView.vue'), props: true, meta: { title: 'Pool', admin: true } },
  { path: '/admin/audit', component: () => import('@/views/admin/AuditView.vue'), meta: { title: 'Audit log', admin: true } },
  { path: '/:rest(.*)*', component: () => import('@/views/NotFoundView.vue'), meta: { title: 'Page not found', public: true } },
]

export function createConsoleRouter() {
  const router = createRouter({ history: createWebHistory(import.meta.env.BASE_URL), routes })

  router.beforeEach((to) => {
    const auth = useAuth()
    if (to.meta.public) {
      if (auth.signedIn && (to.path === '/login' || to.path === '/register')) return '/'
      return true
    }
    if (!auth.signedIn) return { path: '/login', query: to.fullPath === '/' ? {} : { redirect: to.fullPath } }
    if (to.meta.admin && !auth.isAdmin) {
      useToasts().error('That page is for administrators.')
      return '/coupons'
    }
    return true
  })

  router.afterEach((to) => {
    document.title = `${to.meta.title ?? 'Console'} · CouponBooks`
  })

  useAuth().whenExpired(() => {
    useToasts().info('Your session has ended. Please sign in again.')
    const current = router.currentRoute.value
    void router.push({ path: '/login', query: current.meta.public ? {} : { redirect: current.fullPath } })
  })

  return router
}
